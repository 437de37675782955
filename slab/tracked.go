package slab

import "github.com/slabtrack/slabtrack/internal/registry"

// tracked is the face a Pool shows to process-wide visitors (the automatic
// trim and package tracker, through internal/registry). It is the Pool
// itself under another type, so that these methods stay out of Pool's API.
type tracked[T any] Pool[T]

func (t *tracked[T]) pool() *Pool[T] { return (*Pool[T])(t) }

func (t *tracked[T]) Name() string     { return t.owner.name }
func (t *tracked[T]) TypeName() string { return t.owner.typeName }
func (t *tracked[T]) OnGC()            { t.pool().onGC() }

func (t *tracked[T]) Counters() registry.Counters {
	p := t.pool()
	st := p.Stats()
	p.mu.Lock()
	held := p.heldLocked()
	p.mu.Unlock()
	return registry.Counters{
		ID:          p.id,
		Name:        p.owner.name,
		Type:        p.owner.typeName,
		Size:        p.size,
		Live:        st.Live,
		Quarantined: held,
		Stats:       st,
	}
}

func (t *tracked[T]) LiveObjects(dst []registry.Object) []registry.Object {
	p := t.pool()
	if p.sample != nil {
		dst = p.sample.objects(dst)
	}
	return p.debugLiveObjects(dst)
}

func (t *tracked[T]) Dropped(dst []registry.Object) []registry.Object {
	return t.pool().debugDropped(dst)
}

func (t *tracked[T]) CheckQuarantine() error { return t.pool().debugCheckQuarantine() }

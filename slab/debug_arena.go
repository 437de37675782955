//go:build slabdebug

package slab

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/tracker"
)

// Chunks of released scopes in debug builds: poisoned, and held in a
// quarantine per type before any scope reuses them, so that a write to a
// released slice or string is found in the poison, and a read of one sees
// the poison rather than the next request's data.

// arenaQuarantine is how many released chunks of each type wait before
// reuse.
const arenaQuarantine = 16

// chunkDebug is an elemType's quarantine.
type chunkDebug struct {
	mu     sync.Mutex
	layout *poison.Layout
	ring   []qchunk
}

type qchunk struct {
	p     unsafe.Pointer
	class int
}

var chunkDebugs sync.Map // *elemType -> *chunkDebug

func chunkDebugOf(et *elemType) *chunkDebug {
	if d, ok := chunkDebugs.Load(et); ok {
		return d.(*chunkDebug)
	}
	d, _ := chunkDebugs.LoadOrStore(et, &chunkDebug{layout: poison.New(et.typ)})
	return d.(*chunkDebug)
}

// debugChunkRelease poisons the zeroed chunk p and puts it in the
// quarantine; it reports whether the caller may cache it, which it may not:
// the chunk that the quarantine pushes out is cached here instead.
func debugChunkRelease(et *elemType, p unsafe.Pointer, bytes uintptr) bool {
	d := chunkDebugOf(et)
	for off := uintptr(0); off+et.size <= bytes; off += et.size {
		d.layout.Fill(unsafe.Add(p, off))
	}
	d.mu.Lock()
	d.ring = append(d.ring, qchunk{p, classOf(bytes)})
	var out qchunk
	if len(d.ring) > arenaQuarantine {
		out = d.ring[0]
		copy(d.ring, d.ring[1:])
		d.ring = d.ring[:len(d.ring)-1]
	}
	d.mu.Unlock()
	if out.p != nil {
		v := d.check(et, out.p, classBytes(out.class))
		et.clearChunk(out.p, classBytes(out.class)/et.size*et.size)
		et.mu.Lock()
		et.free[out.class] = append(et.free[out.class], out.p)
		et.mu.Unlock()
		if v != nil {
			tracker.Report(v) // the cache is consistent again
		}
	}
	return false
}

// debugChunkReuse is called for a chunk taken from the cache; chunks are
// checked when they leave the quarantine, before they are cached.
func debugChunkReuse(*elemType, unsafe.Pointer, uintptr) {}

// check verifies the poison of the chunk at p.
func (d *chunkDebug) check(et *elemType, p unsafe.Pointer, bytes uintptr) *tracker.Violation {
	for off := uintptr(0); off+et.size <= bytes; off += et.size {
		if at, bad := d.layout.Find(unsafe.Add(p, off), true); bad {
			name, from, to := d.layout.Field(at)
			elem := et.typ.String()
			if name != "" {
				elem += "." + name
			}
			return &tracker.Violation{
				Kind:   tracker.WriteAfterFree,
				Pool:   "(scope memory)",
				Type:   "[]" + et.typ.String(),
				Slot:   -1,
				Addr:   uintptr(p) + off,
				Field:  name,
				Offset: from,
				Got:    poison.Bytes(unsafe.Add(p, off), from, to),
				Want:   d.layout.Expected(from, to, true),
				Detail: fmt.Sprintf("the %s at this address, in a slice or string of a released scope, was written after Release; detected when its memory left the quarantine", elem),
				Err:    fmt.Errorf("%w to %s memory of a released scope", tracker.ErrWriteAfterFree, reflect.SliceOf(et.typ)),
			}
		}
	}
	return nil
}

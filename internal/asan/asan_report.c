//go:build asan

// The C side of package asan: ASan's shadow memory, the records that name
// the memory slabtrack poisoned, and the report that AddressSanitizer's
// error-report callback prints from them.
//
// Everything here is C memory and holds no Go pointer. The records are read
// by the callback, which runs on the goroutine's thread in the middle of an
// instrumented access, on the system stack, with the process about to die:
// it cannot call into Go, so what the report needs (names, fields, stacks)
// is copied here beforehand. It takes no lock that a Go call can be waiting
// for: it tries the locks, and reads without them if they are held (the
// writer is then another thread, and a torn record only spoils the report).

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

#include "asan_report.h"

// A rec is a slot's record: its last allocation and free.
typedef struct {
	uint32_t alloc, free; // stack ids, 0 if none
	int64_t alloc_at, free_at; // internal/clock times, 0 if none
	uint32_t serial; // allocations of the slot so far
	uint32_t state; // slot_live or slot_freed, 0 if never allocated
} rec;

enum { slot_live = 1, slot_freed = 2 };

// A piece is one allocation of scope memory in a chunk: bytes [off, off+n).
typedef struct {
	uintptr_t off, n;
	uint32_t alloc, free;
	int64_t alloc_at, free_at;
} piece;

// pieces_max bounds the allocations a chunk records between two Releases:
// past it, allocations are poisoned all the same, without a record.
enum { pieces_max = 8192 };

// A region is memory that slabtrack hands out and poisons: a pool's slab
// (slots stride bytes apart, one rec each) or a chunk of scope memory
// (stride 0: pieces).
typedef struct {
	uintptr_t base, limit, stride;
	uint64_t id;
	uint32_t owner;
	int released; // a slab that Trim released, still in memory
	int64_t first; // pool-wide number of slot 0
	rec *recs;
	// Chunks: cur are the allocations since the chunk was last released,
	// from offset 0 up to mark; old those of earlier uses, released, of
	// which the ones below mark have been handed out again since.
	pthread_mutex_t mu;
	piece *cur, *old;
	int ncur, nold, capcur, capold;
	uintptr_t mark;
} region;

typedef struct {
	uintptr_t from, to;
	char *name;
} field;

// An owner is what the records of a region are of: a pool's objects, or a
// type of scope memory.
typedef struct {
	char *pool, *type;
	uintptr_t size;
	int scope;
	field *fields;
	int nfields, capfields;
} owner;

static pthread_rwlock_t regions_mu = PTHREAD_RWLOCK_INITIALIZER;
static region **regions; // sorted by base
static int nregions, capregions;
static uint64_t next_region;

static pthread_mutex_t owners_mu = PTHREAD_MUTEX_INITIALIZER;
static owner *owners; // id k is owners[k-1]
static int nowners, capowners;

// The stacks of -asan builds: the depot of package internal/stack, kept
// here so that capturing and interning a stack, the bulk of the cost of an
// Alloc or Free under -asan, runs as C that AddressSanitizer does not
// instrument, in one call. Stack id k is depot[k-1]; index maps a hash to
// the ids of the stacks that have it, open addressing. frames is the stack
// symbolised by Go when it was first recorded ("function file:line", a line
// each, slabtrack's leading frames left out), so that a report needs no
// DWARF (go test and go run leave it out).
typedef struct {
	uint64_t hash;
	uint32_t n;
	uintptr_t *pcs;
	char *frames;
} stackent;

enum { max_depth = 64, max_stacks = 1 << 22 };

static pthread_mutex_t stacks_mu = PTHREAD_MUTEX_INITIALIZER;
static stackent *depot;
static uint32_t ndepot, capdepot;
static uint32_t *dindex; // ids, 0 = empty
static uint32_t capindex; // a power of two

static char module[256];
static int64_t clock_base; // CLOCK_MONOTONIC at internal/clock's 0

static void *xrealloc(void *p, size_t n) {
	void *q = realloc(p, n);
	if (q == NULL) {
		fprintf(stderr, "slabtrack: asan: out of memory for %zu bytes of records\n", n);
		abort();
	}
	return q;
}

static char *xstrdup(const char *s) {
	char *d = strdup(s);
	if (d == NULL) {
		abort();
	}
	return d;
}

static int64_t mono_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(const char *text);

void st_init(const char *mod, int64_t go_now) {
	snprintf(module, sizeof module, "%s", mod);
	clock_base = mono_now() - go_now;
	__asan_set_error_report_callback(report);
}

void st_poison(uintptr_t p, uintptr_t n) { __asan_poison_memory_region((void *)p, n); }

void st_unpoison(uintptr_t p, uintptr_t n) { __asan_unpoison_memory_region((void *)p, n); }

int st_poisoned(uintptr_t p, uintptr_t n) { return __asan_region_is_poisoned((void *)p, n) != 0; }

uint32_t st_owner(const char *pool, const char *type, uintptr_t size, int scope) {
	pthread_mutex_lock(&owners_mu);
	if (nowners == capowners) {
		capowners = capowners ? 2 * capowners : 64;
		owners = xrealloc(owners, capowners * sizeof *owners);
	}
	owner *o = &owners[nowners];
	memset(o, 0, sizeof *o);
	o->pool = xstrdup(pool);
	o->type = xstrdup(type);
	o->size = size;
	o->scope = scope;
	uint32_t id = ++nowners;
	pthread_mutex_unlock(&owners_mu);
	return id;
}

void st_owner_field(uint32_t id, uintptr_t from, uintptr_t to, const char *name) {
	pthread_mutex_lock(&owners_mu);
	owner *o = &owners[id - 1];
	if (o->nfields == o->capfields) {
		o->capfields = o->capfields ? 2 * o->capfields : 8;
		o->fields = xrealloc(o->fields, o->capfields * sizeof *o->fields);
	}
	o->fields[o->nfields++] = (field){from, to, xstrdup(name)};
	pthread_mutex_unlock(&owners_mu);
}

// find returns the index of the region holding addr, or -1; regions_mu is
// held (or, in the report, tried).
static int find(uintptr_t addr) {
	int lo = 0, hi = nregions;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (regions[mid]->limit <= addr) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo < nregions && regions[lo]->base <= addr && addr < regions[lo]->limit) {
		return lo;
	}
	return -1;
}

static void free_region(region *r) {
	free(r->recs);
	free(r->cur);
	free(r->old);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

// st_region_add records [base, limit) as memory of owner o, with a slot
// every stride bytes numbered from first, or, with stride 0, a chunk of
// scope memory. A region it overlaps is dropped: its memory was given back
// and now holds this one. It returns the region's id, for st_region_remove.
uint64_t st_region_add(uintptr_t base, uintptr_t limit, uintptr_t stride, uint32_t o, int64_t first) {
	region *r = calloc(1, sizeof *r);
	if (r == NULL) {
		abort();
	}
	r->base = base;
	r->limit = limit;
	r->stride = stride;
	r->owner = o;
	r->first = first;
	pthread_mutex_init(&r->mu, NULL);
	if (stride > 0) {
		r->recs = calloc((limit - base) / stride + 1, sizeof *r->recs);
		if (r->recs == NULL) {
			abort();
		}
	}
	pthread_rwlock_wrlock(&regions_mu);
	r->id = ++next_region;
	// Drop the regions the new one overlaps.
	int k = 0;
	for (int i = 0; i < nregions; i++) {
		region *x = regions[i];
		if (x->base < limit && base < x->limit) {
			free_region(x);
			continue;
		}
		regions[k++] = x;
	}
	nregions = k;
	if (nregions == capregions) {
		capregions = capregions ? 2 * capregions : 256;
		regions = xrealloc(regions, capregions * sizeof *regions);
	}
	int at = 0;
	while (at < nregions && regions[at]->base < base) {
		at++;
	}
	memmove(&regions[at + 1], &regions[at], (nregions - at) * sizeof *regions);
	regions[at] = r;
	nregions++;
	uint64_t id = r->id;
	pthread_rwlock_unlock(&regions_mu);
	return id;
}

// st_region_remove forgets the region at base if its id is still id: its
// memory was collected.
void st_region_remove(uintptr_t base, uint64_t id) {
	pthread_rwlock_wrlock(&regions_mu);
	int i = find(base);
	if (i >= 0 && regions[i]->id == id) {
		free_region(regions[i]);
		memmove(&regions[i], &regions[i + 1], (nregions - i - 1) * sizeof *regions);
		nregions--;
	}
	pthread_rwlock_unlock(&regions_mu);
}

// st_region_released marks the slab at base as released by Trim.
void st_region_released(uintptr_t base) {
	pthread_rwlock_rdlock(&regions_mu);
	int i = find(base);
	if (i >= 0) {
		regions[i]->released = 1;
	}
	pthread_rwlock_unlock(&regions_mu);
}

static piece *push(piece **a, int *n, int *cap) {
	if (*n == pieces_max) {
		return NULL;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*a = xrealloc(*a, *cap * sizeof **a);
	}
	return &(*a)[(*n)++];
}

// st_handed unpoisons the n bytes at p, handed out by the allocation at
// stack at time now, and records it.
void st_handed(uintptr_t p, uintptr_t n, uint32_t stack, int64_t now) {
	__asan_unpoison_memory_region((void *)p, n);
	pthread_rwlock_rdlock(&regions_mu);
	int i = find(p);
	if (i >= 0) {
		region *r = regions[i];
		if (r->stride > 0) {
			rec *x = &r->recs[(p - r->base) / r->stride];
			x->alloc = stack;
			x->alloc_at = now;
			x->free = 0;
			x->free_at = 0;
			x->serial++;
			x->state = slot_live;
		} else {
			pthread_mutex_lock(&r->mu);
			piece *c = push(&r->cur, &r->ncur, &r->capcur);
			if (c != NULL) {
				*c = (piece){p - r->base, n, stack, 0, now, 0};
			}
			if (p + n - r->base > r->mark) {
				r->mark = p + n - r->base;
			}
			pthread_mutex_unlock(&r->mu);
		}
	}
	pthread_rwlock_unlock(&regions_mu);
}

// st_grown records that the allocation of scope memory at p grew in place
// to n bytes, and unpoisons them.
void st_grown(uintptr_t p, uintptr_t n) {
	__asan_unpoison_memory_region((void *)p, n);
	pthread_rwlock_rdlock(&regions_mu);
	int i = find(p);
	if (i >= 0 && regions[i]->stride == 0) {
		region *r = regions[i];
		pthread_mutex_lock(&r->mu);
		for (int k = r->ncur - 1; k >= 0; k--) {
			if (r->cur[k].off == p - r->base) {
				r->cur[k].n = n;
				break;
			}
		}
		if (p + n - r->base > r->mark) {
			r->mark = p + n - r->base;
		}
		pthread_mutex_unlock(&r->mu);
	}
	pthread_rwlock_unlock(&regions_mu);
}

// st_freed records the free of the n bytes at p at stack at time now, and
// poisons them. For scope memory, p is a chunk and n the bytes used in it:
// every allocation in them was released.
void st_freed(uintptr_t p, uintptr_t n, uint32_t stack, int64_t now) {
	pthread_rwlock_rdlock(&regions_mu);
	int i = find(p);
	if (i >= 0) {
		region *r = regions[i];
		if (r->stride > 0) {
			rec *x = &r->recs[(p - r->base) / r->stride];
			x->free = stack;
			x->free_at = now;
			x->state = slot_freed;
		} else {
			pthread_mutex_lock(&r->mu);
			// The allocations of this use become the old ones, with those
			// of earlier uses that lie past what this use handed out.
			piece *old = NULL;
			int nold = 0, capold = 0;
			for (int k = 0; k < r->ncur; k++) {
				piece *c = push(&old, &nold, &capold);
				if (c == NULL) {
					break;
				}
				*c = r->cur[k];
				c->free = stack;
				c->free_at = now;
			}
			for (int k = 0; k < r->nold; k++) {
				if (r->old[k].off + r->old[k].n > r->mark) {
					piece *c = push(&old, &nold, &capold);
					if (c == NULL) {
						break;
					}
					*c = r->old[k];
				}
			}
			free(r->old);
			r->old = old;
			r->nold = nold;
			r->capold = capold;
			r->ncur = 0;
			r->mark = 0;
			pthread_mutex_unlock(&r->mu);
		}
	}
	pthread_rwlock_unlock(&regions_mu);
	__asan_poison_memory_region((void *)p, n);
}

// st_describe fills *d with the record of the scope memory at addr, for
// a report of a fault there (a guarded chunk that Release protected): it
// returns 0 if addr is in no chunk or no recorded allocation.
int st_describe(uintptr_t addr, st_desc *d) {
	int found = 0;
	pthread_rwlock_rdlock(&regions_mu);
	int i = find(addr);
	if (i >= 0 && regions[i]->stride == 0) {
		region *r = regions[i];
		uintptr_t off = addr - r->base;
		pthread_mutex_lock(&r->mu);
		for (int k = 0; k < r->nold && !found; k++) {
			piece *pc = &r->old[k];
			if (pc->off <= off && off < pc->off + pc->n && pc->off + pc->n > r->mark) {
				*d = (st_desc){pc->alloc, pc->free, pc->alloc_at, pc->free_at, r->base + pc->off, off - pc->off, (uint32_t)k};
				found = 1;
			}
		}
		pthread_mutex_unlock(&r->mu);
	}
	pthread_rwlock_unlock(&regions_mu);
	return found;
}

static uint64_t hash_pcs(const uintptr_t *pcs, int n) {
	uint64_t h = 14695981039346656037ull;
	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)pcs[i];
		h *= 1099511628211ull;
		h ^= h >> 29;
	}
	return h;
}

// st_intern returns the id of the stack pcs[:n], recording it if it is new
// (*added is set then), or 0xffffffff if the depot is full.
uint32_t st_intern(const uintptr_t *pcs, int n, int *added) {
	*added = 0;
	if (n <= 0) {
		return 0;
	}
	uint64_t h = hash_pcs(pcs, n);
	pthread_mutex_lock(&stacks_mu);
	uint32_t k = capindex ? (uint32_t)h & (capindex - 1) : 0;
	for (uint32_t probe = 0; capindex && probe < capindex && dindex[k] != 0; probe++) {
		stackent *e = &depot[dindex[k] - 1];
		if (e->hash == h && e->n == (uint32_t)n && memcmp(e->pcs, pcs, n * sizeof *pcs) == 0) {
			uint32_t id = dindex[k];
			pthread_mutex_unlock(&stacks_mu);
			return id;
		}
		k = (k + 1) & (capindex - 1);
	}
	if (ndepot >= max_stacks) {
		pthread_mutex_unlock(&stacks_mu);
		return 0xffffffffu;
	}
	if (ndepot == capdepot) {
		capdepot = capdepot ? 2 * capdepot : 1024;
		depot = xrealloc(depot, capdepot * sizeof *depot);
	}
	if (2 * (ndepot + 1) > capindex) {
		uint32_t cap = capindex ? 2 * capindex : 4096;
		uint32_t *t = calloc(cap, sizeof *t);
		if (t == NULL) {
			abort();
		}
		for (uint32_t id = 1; id <= ndepot; id++) {
			uint32_t j = (uint32_t)depot[id - 1].hash & (cap - 1);
			while (t[j] != 0) {
				j = (j + 1) & (cap - 1);
			}
			t[j] = id;
		}
		free(dindex);
		dindex = t;
		capindex = cap;
	}
	uintptr_t *copy = malloc(n * sizeof *copy);
	if (copy == NULL) {
		abort();
	}
	memcpy(copy, pcs, n * sizeof *copy);
	depot[ndepot] = (stackent){h, (uint32_t)n, copy, NULL};
	uint32_t id = ++ndepot;
	k = (uint32_t)h & (capindex - 1);
	while (dindex[k] != 0) {
		k = (k + 1) & (capindex - 1);
	}
	dindex[k] = id;
	pthread_mutex_unlock(&stacks_mu);
	*added = 1;
	return id;
}

// st_capture records the stack whose innermost frame pointer is fp, as
// internal/stack's walk does (a return address above each frame pointer,
// the walk ending at one that leaves the stack), leaving out the first skip
// frames and keeping depth, and interns it. The goroutine is in this cgo
// call: its stack cannot move meanwhile.
__attribute__((no_sanitize_address)) uint32_t st_capture(uintptr_t fp, int skip, int depth, int *added) {
	uintptr_t buf[max_depth];
	int n = 0;
	if (depth > max_depth) {
		depth = max_depth;
	}
	while (fp != 0 && n < depth) {
		uintptr_t pc = ((uintptr_t *)fp)[1];
		if (skip > 0) {
			skip--;
		} else {
			buf[n++] = pc;
		}
		uintptr_t next = ((uintptr_t *)fp)[0];
		if (next <= fp || next - fp > (1 << 20) || next % sizeof(uintptr_t) != 0) {
			break;
		}
		fp = next;
	}
	return st_intern(buf, n, added);
}

// st_stack_pcs copies the PCs of stack id into out (at most max) and
// returns how many it has.
int st_stack_pcs(uint32_t id, uintptr_t *out, int max) {
	pthread_mutex_lock(&stacks_mu);
	int n = 0;
	if (id >= 1 && id <= ndepot) {
		stackent *e = &depot[id - 1];
		n = (int)e->n < max ? (int)e->n : max;
		memcpy(out, e->pcs, n * sizeof *out);
	}
	pthread_mutex_unlock(&stacks_mu);
	return n;
}

// st_stack records the frames of stack id, symbolised, once.
void st_stack(uint32_t id, const char *frames) {
	pthread_mutex_lock(&stacks_mu);
	if (id >= 1 && id <= ndepot && depot[id - 1].frames == NULL) {
		depot[id - 1].frames = xstrdup(frames);
	}
	pthread_mutex_unlock(&stacks_mu);
}

// The report.

static const stackent *stack_of(uint32_t id) {
	if (id == 0 || id > ndepot) {
		return NULL;
	}
	return &depot[id - 1];
}

static int has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int has_suffix(const char *s, const char *suffix) {
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

// internal reports whether a frame is slabtrack's own (packages slab,
// tracker and internal/...): an access there is the library's, and a bug
// in it. Test files are the program's. An access in the runtime (a copy, a
// string conversion) is made for a caller that the report does not see,
// the program as often as slabtrack, and is not called slabtrack's.
static int internal(const char *fn, const char *file) {
	if (has_suffix(file, "_test.go")) {
		return 0;
	}
	if (!has_prefix(fn, module)) {
		return 0;
	}
	const char *rest = fn + strlen(module);
	return has_prefix(rest, "slab.") || has_prefix(rest, "tracker.") || has_prefix(rest, "internal/");
}

// An out is the report being written: into a buffer, written to standard
// error in one piece.
typedef struct {
	char buf[16384];
	size_t n;
} out;

static void put(out *o, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *format, ...) {
	if (o->n >= sizeof o->buf) {
		return;
	}
	va_list ap;
	va_start(ap, format);
	int k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, format, ap);
	va_end(ap);
	if (k > 0) {
		o->n += (size_t)k;
		if (o->n > sizeof o->buf) {
			o->n = sizeof o->buf;
		}
	}
}

// A frame is a symbolised frame.
typedef struct {
	char fn[512], file[512];
	int line;
} frame;

// symbolize fills fs with the frames at pc, innermost first (inlined calls
// expanded), and returns how many.
static int symbolize(uintptr_t pc, frame *fs, int max) {
	static char buf[8192];
	buf[0] = buf[1] = 0;
	__sanitizer_symbolize_pc((void *)pc, "%f\x1f%s\x1f%l", buf, sizeof buf);
	int n = 0;
	for (char *s = buf; *s && n < max; s += strlen(s) + 1) {
		char *a = strchr(s, '\x1f');
		char *b = a ? strchr(a + 1, '\x1f') : NULL;
		if (a == NULL || b == NULL) {
			continue;
		}
		if (strncmp(s, "<null>", 6) == 0 || a == s) {
			continue; // not symbolised: no DWARF
		}
		snprintf(fs[n].fn, sizeof fs[n].fn, "%.*s", (int)(a - s), s);
		snprintf(fs[n].file, sizeof fs[n].file, "%.*s", (int)(b - a - 1), a + 1);
		fs[n].line = atoi(b + 1);
		n++;
	}
	return n;
}

// put_stack writes the frames of stack id.
static void put_stack(out *o, uint32_t id) {
	const stackent *s = stack_of(id);
	if (s == NULL || s->frames == NULL) {
		put(o, "    (no stack recorded)\n");
		return;
	}
	int k = 0;
	for (const char *line = s->frames; *line;) {
		const char *end = strchr(line, '\n');
		int n = end ? (int)(end - line) : (int)strlen(line);
		put(o, "    #%d %.*s\n", k++, n, line);
		line += n + (end != NULL);
	}
	if (k == 0) {
		put(o, "    (no frame outside slabtrack)\n");
	}
}

// put_age writes ", <age> ago" for the time t, if recorded.
static void put_age(out *o, int64_t now, int64_t t) {
	if (t == 0) {
		return;
	}
	int64_t d = now - t;
	if (d < 1) {
		d = 1;
	}
	if (d < 1000) {
		put(o, ", %lldns ago", (long long)d);
	} else if (d < 1000000) {
		put(o, ", %.3fµs ago", d / 1e3);
	} else if (d < 1000000000) {
		put(o, ", %.3fms ago", d / 1e6);
	} else {
		put(o, ", %.3fs ago", d / 1e9);
	}
}

// field_of names the field of owner o at byte off of an object, writing
// the name into name; it returns 0 if the owner records none.
static int field_of(const owner *o, uintptr_t off, char *name, size_t size, uintptr_t *from, uintptr_t *to) {
	for (int k = 0; k < o->nfields; k++) {
		if (o->fields[k].from <= off && off < o->fields[k].to) {
			snprintf(name, size, "%s", o->fields[k].name);
			*from = o->fields[k].from;
			*to = o->fields[k].to;
			return 1;
		}
	}
	return 0;
}

// error_at is when AddressSanitizer began its report: the ages in ours are
// measured from the access, not from the end of ASan's report, whose
// symbolisation can take a second.
static int64_t error_at;

// __asan_on_error is AddressSanitizer's hook, called as a report begins.
void __asan_on_error(void) { error_at = mono_now(); }

static void report(const char *text) {
	(void)text;
	uintptr_t addr = (uintptr_t)__asan_get_report_address();
	int write = __asan_get_report_access_type();
	size_t size = __asan_get_report_access_size();
	uintptr_t pc = (uintptr_t)__asan_get_report_pc();
	int64_t now = (error_at ? error_at : mono_now()) - clock_base;

	// The locks are tried, not waited for: see the top of the file.
	int locked = pthread_rwlock_tryrdlock(&regions_mu) == 0;
	int slocked = pthread_mutex_trylock(&stacks_mu) == 0;
	static out o;
	o.n = 0;
	int i = find(addr);
	if (i < 0) {
		put(&o, "slabtrack: %#lx is not in memory that slabtrack poisoned\n", (unsigned long)addr);
		goto done;
	}
	region *r = regions[i];
	const owner *ow = r->owner >= 1 && (int)r->owner <= nowners ? &owners[r->owner - 1] : NULL;
	if (ow == NULL) {
		goto done;
	}
	const char *verb = write ? "write" : "read";
	char fname[512] = "";
	uintptr_t from = 0, to = 0;
	uintptr_t obj = 0;
	uint32_t alloc_id = 0, free_id = 0;
	int64_t alloc_at = 0, free_at = 0;
	int state = 0, known = 0;
	char where[128];

	if (r->stride > 0) {
		int64_t i = (int64_t)((addr - r->base) / r->stride);
		uintptr_t off = (addr - r->base) % r->stride;
		obj = r->base + (uintptr_t)i * r->stride;
		rec *x = &r->recs[i];
		alloc_id = x->alloc;
		free_id = x->free;
		alloc_at = x->alloc_at;
		free_at = x->free_at;
		state = x->state;
		known = state != 0;
		if (off < ow->size) {
			field_of(ow, off, fname, sizeof fname, &from, &to);
		}
		snprintf(where, sizeof where, "(pool \"%s\", slot %lld)", ow->pool, (long long)(r->first + i));
		if (fname[0]) {
			put(&o, "slab: %s after free of %s field %s %s\n", verb, ow->type, fname, where);
		} else {
			put(&o, "slab: %s after free of %s %s\n", verb, ow->type, where);
		}
		put(&o, "%#lx: AddressSanitizer caught this %s of %zu byte(s) at offset %lu of the object",
		    (unsigned long)obj, verb, size, (unsigned long)off);
		if (fname[0]) {
			put(&o, " (field %s, bytes [%lu, %lu))", fname, (unsigned long)from, (unsigned long)to);
		}
		switch (state) {
		case slot_freed:
			put(&o, ", which slabtrack poisoned when it was freed");
			break;
		case slot_live:
			put(&o, ", which is live: slabtrack poisoned it while it was not freed, a bug in slabtrack");
			break;
		default:
			put(&o, ": the pool has not handed this slot out yet (a pointer computed past an object?)");
			break;
		}
		if (r->released) {
			put(&o, "; its slab was released since");
		}
		put(&o, "\n");
	} else {
		uintptr_t off = addr - r->base;
		int locked_r = pthread_mutex_trylock(&r->mu) == 0;
		const piece *pc = NULL;
		for (int k = 0; k < r->ncur && pc == NULL; k++) {
			if (r->cur[k].off <= off && off < r->cur[k].off + r->cur[k].n) {
				pc = &r->cur[k];
			}
		}
		for (int k = 0; k < r->nold && pc == NULL; k++) {
			if (r->old[k].off <= off && off < r->old[k].off + r->old[k].n && r->old[k].off + r->old[k].n > r->mark) {
				pc = &r->old[k];
			}
		}
		char elem[512] = "";
		if (pc != NULL && ow->size > 0) {
			uintptr_t in = off - pc->off;
			uintptr_t k = in / ow->size;
			char inner[400] = "";
			if (field_of(ow, in % ow->size, inner, sizeof inner, &from, &to) && inner[0]) {
				snprintf(elem, sizeof elem, "[%lu].%s", (unsigned long)k, inner);
			} else {
				snprintf(elem, sizeof elem, "[%lu]", (unsigned long)k);
			}
			obj = r->base + pc->off;
			alloc_id = pc->alloc;
			free_id = pc->free;
			alloc_at = pc->alloc_at;
			free_at = pc->free_at;
			known = 1;
			state = pc->free_at ? slot_freed : slot_live;
		}
		if (locked_r) {
			pthread_mutex_unlock(&r->mu);
		}
		snprintf(where, sizeof where, "(scope memory)");
		if (elem[0]) {
			put(&o, "slab: %s after free of %s field %s %s\n", verb, ow->type, elem, where);
			put(&o, "%#lx: AddressSanitizer caught this %s of %zu byte(s) of element %s of a slice, string or value that a scope allocated (NewIn, MakeSliceIn, AppendIn, StringIn...), which slabtrack poisoned when the scope was released\n",
			    (unsigned long)obj, verb, size, elem);
		} else {
			put(&o, "slab: %s after free of %s %s\n", verb, ow->type, where);
			put(&o, "%#lx: AddressSanitizer caught this %s of %zu byte(s) of the scope memory of a released scope, or of memory of it not handed out; its allocation is not recorded\n",
			    (unsigned long)addr, verb, size);
		}
	}

	{
		frame fs[8];
		int n = symbolize(pc - 1, fs, 8);
		put(&o, "\n%s here (this access; AddressSanitizer's report above has its stack):\n", verb);
		for (int j = 0; j < n; j++) {
			put(&o, "    #%d %s %s:%d\n", j, fs[j].fn, fs[j].file, fs[j].line);
		}
		if (n == 0) {
			// go test and go run leave DWARF out of the binaries they run.
			put(&o, "    #0 pc=%#lx (the binary has no DWARF to name it: build it with go build -asan, or go test -asan -o file)\n", (unsigned long)pc);
		}
		if (known) {
			put(&o, "\nfreed here");
			put_age(&o, now, free_at);
			put(&o, ":\n");
			if (free_at == 0 && free_id == 0) {
				put(&o, "    (not freed)\n");
			} else {
				put_stack(&o, free_id);
			}
			put(&o, "\nallocated here");
			put_age(&o, now, alloc_at);
			put(&o, ":\n");
			put_stack(&o, alloc_id);
		}
		put(&o, "\nSUMMARY: slabtrack: use-after-free");
		if (n > 0) {
			put(&o, " %s:%d in %s", fs[0].file, fs[0].line, fs[0].fn);
			if (internal(fs[0].fn, fs[0].file)) {
				put(&o, " (an access by slabtrack itself: a bug in slabtrack)");
			}
		}
		if (ow->scope) {
			put(&o, " (%s, scope memory)\n", ow->type);
		} else {
			put(&o, " (%s, pool \"%s\")\n", ow->type, ow->pool);
		}
	}
done:
	if (slocked) {
		pthread_mutex_unlock(&stacks_mu);
	}
	if (locked) {
		pthread_rwlock_unlock(&regions_mu);
	}
	if (o.n > 0) {
		fwrite("\n", 1, 1, stderr);
		fwrite(o.buf, 1, o.n, stderr);
		fflush(stderr);
	}
}

//go:build asan

// The C side of package asan (asan_report.c), for the cgo preamble.

#include <stdint.h>

// An st_desc is what st_describe finds of an allocation of scope memory.
typedef struct {
	uint32_t alloc, free;
	int64_t alloc_at, free_at;
	uintptr_t start, off; // the allocation's address, and addr's offset in it
	uint32_t index; // the allocation's position among its chunk's records
} st_desc;

int st_describe(uintptr_t addr, st_desc *d);

uint32_t st_intern(const uintptr_t *pcs, int n, int *added);
uint32_t st_capture(uintptr_t fp, int skip, int depth, int *added);
int st_stack_pcs(uint32_t id, uintptr_t *out, int max);

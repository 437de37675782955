// Package poison fills freed objects so that a later use of them is seen:
// their reference words are made to fault at the access, their scalar bytes
// hold a pattern that a write after free changes. Linux SLUB's poisoning,
// Zig's debug allocator and AddressSanitizer's shadow are the models.
//
// A Layout, built once per type with reflect, splits the type into reference
// words and scalar bytes:
//
//	l := poison.For(reflect.TypeFor[Order]())
//	cell := l.Poison(unsafe.Pointer(x), fault.Record{Pool: id, Slot: 12, Serial: 3}) // at Free
//	...
//	if off, bad := l.Verify(unsafe.Pointer(x), cell); bad { ... }                  // before reuse
//	*x = Order{}                                                                     // typed zeroing
//	fault.Release(cell)
//
// # Reference words
//
// Every word of T that the garbage collector treats as a pointer and that a
// program dereferences is a reference word: pointers, unsafe.Pointers, maps,
// chans and funcs (one word each), the data pointers of slices and strings,
// and the data word of interfaces. Poison stores into each the address of
// its window in a cell of package fault's PROT_NONE region: a stale
// o.Customer.Name, o.Items[i], o.Name[0], o.Meta["k"], o.Done <- x, o.F(),
// o.Sink.Write(b) then faults at that line, and the address names the slot
// and the field. A slice gets a length and capacity that fill its window,
// so that any index up to it dereferences the poisoned pointer instead of
// failing a bounds check; a string keeps its length, clamped to [1, window],
// so that a comparison with a string of that length reads it too. An
// interface keeps its type word: a method call then runs the dynamic type's
// method on the poisoned data word, and a type assertion succeeds and yields
// it. Nil references are poisoned too: a stale `if o.Customer != nil` then
// takes the branch that faults.
//
// All these stores are typed: a pointer-typed value stored through a
// *unsafe.Pointer is a pointer store with a write barrier, which sees an
// address outside the Go heap and ignores it. Byte copies, which the
// garbage collector forbids for pointer words, are used for scalar bytes
// only. Without a fault region (see package fault: other platforms),
// reference words are poisoned with nil and lengths with zero.
//
// # Scalars
//
// Scalar bytes get 0x6b (SLUB's POISON_FREE), padding included, except
// floating-point fields, which get signalling NaNs: 0x7ff06b6b6b6b6b6b for a
// float64 and 0x7f806b6b for a float32 (each half of a complex likewise).
// Arithmetic on a signalling NaN yields a quiet NaN, another bit pattern, so
// `o.Total += 5` after Free changes the poison and Verify finds it, where
// 0x6b6b... read as a float64 (about 4e210) absorbs the 5 and stays the
// same. Integers change under any arithmetic that is not a no-op, and a
// bool holding 0x6b is neither false nor true, so that a write of either is
// seen. Reads of scalars cannot be caught on heap memory: they return the
// pattern.
//
// # Concurrency
//
// A Layout is immutable and safe for concurrent use. Poison, Verify and
// Want touch only the object they are given, which the caller owns.
//
// # Debugging
//
// The tests run the poisoning under a GC-heavy stress test with
// GODEBUG=invalidptr=1,gccheckmark=1,clobberfree=1 and under -race (which
// turns on checkptr), and commit each kind of read and write through a
// poisoned word in a child process, checking that the fault address decodes
// to the field.
package poison

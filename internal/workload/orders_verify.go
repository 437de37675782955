package workload

import "fmt"

// Verify builds requests 0 to n-1 from src, rounds times over so that a
// pooled strategy reuses its objects, both directly (freed by Request.Free)
// and through a Staged (freed by Staged.Free), and compares each with the
// same request built by HeapSources. The error
// names the first request whose Checksum differs: a Source that hands out an
// object it did not zero, or two live objects at one address, shows there.
// Every object goes back to src.
func Verify(src *Sources, n, rounds int) error {
	want := make([]uint64, n)
	var r Request
	for i := range want {
		r.Build(HeapSources(), uint64(i))
		want[i] = r.Checksum()
		r = Request{}
	}
	staged := NewStaged(src)
	for round := range rounds {
		for i, w := range want {
			r.Build(src, uint64(i))
			got := r.Checksum()
			r.Free(src)
			if got != w {
				return fmt.Errorf("workload: round %d, request %d: checksum %#x, want %#x (new(T)'s)", round, i, got, w)
			}

			staged.Stage()
			r.Build(staged.Sources(), uint64(i))
			got = r.Checksum()
			staged.Free()
			r = Request{}
			if got != w {
				return fmt.Errorf("workload: round %d, request %d, staged: checksum %#x, want %#x (new(T)'s)", round, i, got, w)
			}
		}
	}
	return nil
}

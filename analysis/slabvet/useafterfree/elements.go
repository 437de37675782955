package useafterfree

import (
	"fmt"
	"go/token"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
)

// checkFreedElements reports a use of a slice's elements after a loop that
// freed every one of them: a loop over the slice's indexes, in order from 0
// to its length, whose body frees the element of the iteration on every
// pass, and which is left only when the indexes run out. The elements of the
// slice are not reported if anything may have replaced them since: a store
// into them, or the slice handed to anything but an index or len after
// the loop began.
func checkFreedElements(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function) {
	done := map[ssa.Value]bool{}
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(*ssa.Call)
			if !ok {
				continue
			}
			for _, v := range freedArgs(env, call.Common()) {
				load, ok := lifetime.MustRoot(v).(*ssa.UnOp)
				if !ok || load.Op != token.MUL {
					continue
				}
				ia, ok := load.X.(*ssa.IndexAddr)
				if !ok {
					continue
				}
				slice := lifetime.MustRoot(ia.X)
				if done[slice] {
					continue
				}
				exit := freeingLoop(call, ia.Index, slice)
				if exit == nil || replaced(fn, slice, exit) {
					continue
				}
				if use := elementUse(env, fn, slice, exit); use != nil {
					done[slice] = true
					rep.Report(analysis.Diagnostic{Pos: pos(use, call), Message: fmt.Sprintf("an element of %s is used after the loop on line %d freed every element", lifetime.Name(slice), lifetime.Line(env, call.Pos()))})
				}
			}
		}
	}
}

// freeingLoop returns the block that the loop around free is left to, if
// the loop counts idx from 0 to len(slice) one by one, free runs on every
// iteration, and nothing else leaves the loop for that block.
func freeingLoop(free ssa.Instruction, idx ssa.Value, slice ssa.Value) *ssa.BasicBlock {
	var head *ssa.BasicBlock
	switch x := idx.(type) {
	case *ssa.BinOp: // range: i = phi(-1, i) + 1, tested i < len
		phi, ok := x.X.(*ssa.Phi)
		if !ok || x.Op != token.ADD || !isConst(x.Y, 1) || !counts(phi, -1, x) {
			return nil
		}
		head = phi.Block()
	case *ssa.Phi: // for i := 0; i < len(s); i++
		if len(x.Edges) != 2 {
			return nil
		}
		var step *ssa.BinOp
		for _, e := range x.Edges {
			if b, ok := e.(*ssa.BinOp); ok && b.Op == token.ADD && b.X == x && isConst(b.Y, 1) {
				step = b
			}
		}
		if step == nil || !counts(x, 0, step) {
			return nil
		}
		head = x.Block()
	default:
		return nil
	}
	if len(head.Instrs) == 0 || len(head.Succs) != 2 {
		return nil
	}
	cond, ok := head.Instrs[len(head.Instrs)-1].(*ssa.If)
	if !ok {
		return nil
	}
	lt, ok := cond.Cond.(*ssa.BinOp)
	if !ok || lt.Op != token.LSS || lt.X != idx || !isLen(lt.Y, slice) {
		return nil
	}
	body, exit := head.Succs[0], head.Succs[1]
	if len(exit.Preds) != 1 || !body.Dominates(free.Block()) {
		return nil
	}
	// Every back edge to the head passes the free: no continue skips it.
	for _, p := range head.Preds {
		if head.Dominates(p) && !free.Block().Dominates(p) {
			return nil
		}
	}
	return exit
}

// counts reports whether phi starts at start and goes on with next.
func counts(phi *ssa.Phi, start int64, next ssa.Value) bool {
	if len(phi.Edges) != 2 {
		return false
	}
	return (isConst(phi.Edges[0], start) && phi.Edges[1] == next) || (isConst(phi.Edges[1], start) && phi.Edges[0] == next)
}

func isConst(v ssa.Value, n int64) bool {
	c, ok := v.(*ssa.Const)
	return ok && c.Value != nil && c.Int64() == n
}

func isLen(v, slice ssa.Value) bool {
	c, ok := v.(*ssa.Call)
	if !ok || len(c.Call.Args) != 1 {
		return false
	}
	b, ok := c.Call.Value.(*ssa.Builtin)
	return ok && b.Name() == "len" && lifetime.MustRoot(c.Call.Args[0]) == slice
}

// replaced reports whether the elements of slice may hold other objects
// after the loop that exit leaves: a store into an element anywhere, or the
// slice (any value with its root) used for anything but indexing and len
// or cap in the loop or after it.
func replaced(fn *ssa.Function, slice ssa.Value, exit *ssa.BasicBlock) bool {
	head := exit.Preds[0]
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			for _, op := range in.Operands(nil) {
				if *op == nil || lifetime.MustRoot(*op) != slice {
					continue
				}
				switch in := in.(type) {
				case *ssa.DebugRef:
					continue
				case *ssa.IndexAddr:
					for _, r := range *in.Referrers() {
						if st, ok := r.(*ssa.Store); ok && st.Addr == in {
							return true
						}
					}
					continue
				case *ssa.Call:
					if bi, ok := in.Call.Value.(*ssa.Builtin); ok && (bi.Name() == "len" || bi.Name() == "cap") {
						continue
					}
				}
				if head.Dominates(b) {
					return true
				}
			}
		}
	}
	return false
}

// elementUse returns the first use, after the loop that exit leaves, of an
// element read from slice.
func elementUse(env *lifetime.Env, fn *ssa.Function, slice ssa.Value, exit *ssa.BasicBlock) ssa.Instruction {
	for _, b := range fn.Blocks {
		if !exit.Dominates(b) {
			continue
		}
		for _, in := range b.Instrs {
			ia, ok := in.(*ssa.IndexAddr)
			if !ok || lifetime.MustRoot(ia.X) != slice {
				continue
			}
			for _, r := range *ia.Referrers() {
				el, ok := r.(*ssa.UnOp)
				if !ok || el.Op != token.MUL {
					continue
				}
				for _, u := range *el.Referrers() {
					if env.UseOf(u, el, false) == lifetime.Use {
						return u
					}
				}
			}
		}
	}
	return nil
}

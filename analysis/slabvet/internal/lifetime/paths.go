package lifetime

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A Pruner names the successor of an If that cannot be taken on the paths
// being searched, or returns -1.
type Pruner func(*ssa.If) int

// Reach returns the Return instructions that a path reaches without passing
// an instruction for which stop is true. The paths start just after from,
// or at fn's entry if from is nil; a path that comes back to from ends
// there, since from then makes a new value. Paths ending in a panic or in a
// call that does not return reach nothing. A path that has taken a branch
// on a condition takes the same branch at a later test of the same
// condition (if cond {...}; if !cond {...}), for up to 64 conditions.
func Reach(fn *ssa.Function, from ssa.Instruction, stop func(ssa.Instruction) bool, prune Pruner) []*ssa.Return {
	if len(fn.Blocks) == 0 {
		return nil
	}
	if rets, ok := reach(fn, from, stop, prune, correlated(fn)); ok {
		return rets
	}
	// Too many combinations of conditions: search again without them, which
	// may find more returns, never fewer.
	rets, _ := reach(fn, from, stop, prune, nil)
	return rets
}

// maxStates bounds the (block, decided conditions) states one search
// visits.
const maxStates = 20000

func reach(fn *ssa.Function, from ssa.Instruction, stop func(ssa.Instruction) bool, prune Pruner, conds map[cond]uint64) ([]*ssa.Return, bool) {
	type state struct {
		b          *ssa.BasicBlock
		known, val uint64 // the conditions decided on this path, and how
	}
	type pos struct {
		state
		i int
	}
	var out []*ssa.Return
	seenRet := map[*ssa.Return]bool{}
	visited := map[state]bool{}
	var stack []pos
	enter := func(st state) {
		if !visited[st] {
			visited[st] = true
			stack = append(stack, pos{st, 0})
		}
	}
	budget := maxStates
	if from == nil {
		enter(state{b: fn.Blocks[0]})
	} else {
		stack = append(stack, pos{state{b: from.Block()}, indexOf(from) + 1})
	}
	for len(stack) > 0 {
		if budget--; budget < 0 {
			return nil, false
		}
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	scan:
		for i := p.i; i < len(p.b.Instrs); i++ {
			in := p.b.Instrs[i]
			if in == from || stop(in) {
				break
			}
			switch in := in.(type) {
			case *ssa.Return:
				if !seenRet[in] {
					seenRet[in] = true
					out = append(out, in)
				}
				break scan
			case *ssa.Panic:
				break scan
			case *ssa.If:
				skip := staticSkip(in)
				if skip < 0 && prune != nil {
					skip = prune(in)
				}
				key, neg := condKey(in.Cond)
				bit, tracked := conds[key]
				for k, s := range p.b.Succs {
					if k == skip {
						continue
					}
					next := state{b: s, known: p.known, val: p.val}
					if tracked {
						holds := (k == 0) != neg // the condition's base is true on this branch
						if p.known&bit != 0 && (p.val&bit != 0) != holds {
							continue // the path decided otherwise earlier
						}
						next.known |= bit
						if holds {
							next.val |= bit
						} else {
							next.val &^= bit
						}
					}
					enter(next)
				}
				break scan
			case *ssa.Jump:
				enter(state{b: p.b.Succs[0], known: p.known, val: p.val})
				break scan
			}
		}
	}
	return out, true
}

// A cond is a branch condition up to negation: a value, or a comparison
// of two values.
type cond struct {
	x, y any // an ssa.Value, or a constant's type and value: each use of a constant is a value of its own
	op   token.Token
}

func operand(v ssa.Value) any {
	if c, ok := v.(*ssa.Const); ok {
		return c.String()
	}
	return v
}

// condKey returns c's condition and whether c is its negation.
func condKey(c ssa.Value) (cond, bool) {
	neg := false
	for {
		u, ok := c.(*ssa.UnOp)
		if !ok || u.Op != token.NOT {
			break
		}
		c, neg = u.X, !neg
	}
	if b, ok := c.(*ssa.BinOp); ok {
		switch b.Op {
		case token.EQL:
			return cond{operand(b.X), operand(b.Y), token.EQL}, neg
		case token.NEQ:
			return cond{operand(b.X), operand(b.Y), token.EQL}, !neg
		}
	}
	return cond{x: operand(c)}, neg
}

// correlated returns the conditions that more than one If of fn tests,
// each with a bit of its own.
func correlated(fn *ssa.Function) map[cond]uint64 {
	count := map[cond]int{}
	for _, b := range fn.Blocks {
		if len(b.Instrs) == 0 {
			continue
		}
		if in, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If); ok {
			k, _ := condKey(in.Cond)
			count[k]++
		}
	}
	out := map[cond]uint64{}
	for k, n := range count {
		if n > 1 && len(out) < 64 {
			out[k] = 1 << len(out)
		}
	}
	return out
}

func indexOf(in ssa.Instruction) int {
	for i, x := range in.Block().Instrs {
		if x == in {
			return i
		}
	}
	return -1
}

// Dominates reports whether a runs before b on every path that reaches b.
func Dominates(a, b ssa.Instruction) bool {
	if a.Block() == b.Block() {
		return indexOf(a) < indexOf(b)
	}
	return a.Block().Dominates(b.Block())
}

// InLoopEveryIteration reports whether in runs in every iteration of a loop
// that does not redefine v: then a loop that goes round twice runs it twice
// on the same v.
func InLoopEveryIteration(in ssa.Instruction, v ssa.Value) bool {
	b := in.Block()
	var def *ssa.BasicBlock
	if vi, ok := v.(ssa.Instruction); ok {
		def = vi.Block()
	}
	// A back edge s -> h: h dominates s. The loop runs in on every
	// iteration if b dominates s and h dominates b.
	for _, s := range b.Parent().Blocks {
		if !b.Dominates(s) {
			continue
		}
		for _, h := range s.Succs {
			if !h.Dominates(s) || !h.Dominates(b) {
				continue
			}
			if def != nil && h.Dominates(def) {
				continue // v is made inside the loop
			}
			return true
		}
	}
	return false
}

// NilPrune returns a Pruner that skips the branches on which the traced
// object is nil: a test of a traced value against nil, or of err, the error
// result of the call that made the object, against nil or with errors.Is.
func (t *Trace) NilPrune(err ssa.Value) Pruner {
	return func(in *ssa.If) int {
		switch c := in.Cond.(type) {
		case *ssa.BinOp:
			if c.Op != token.EQL && c.Op != token.NEQ {
				return -1
			}
			x, y := c.X, c.Y
			if IsNil(x) {
				x, y = y, x
			}
			if !IsNil(y) {
				return -1
			}
			switch {
			case t.Values[x]&Direct != 0:
				// x == nil: Succs[0] is the nil branch.
				if c.Op == token.EQL {
					return 0
				}
				return 1
			case err != nil && x == err:
				// err != nil: Succs[0] is the branch without an object.
				if c.Op == token.NEQ {
					return 0
				}
				return 1
			}
		case *ssa.Call:
			if err == nil || len(c.Call.Args) == 0 || c.Call.Args[0] != err {
				return -1
			}
			if f := c.Call.StaticCallee(); f != nil && f.Pkg != nil && f.Pkg.Pkg.Path() == "errors" && (f.Name() == "Is" || f.Name() == "As") {
				return 0
			}
		}
		return -1
	}
}

// IsNil reports whether v is the constant nil.
func IsNil(v ssa.Value) bool {
	c, ok := v.(*ssa.Const)
	return ok && c.Value == nil
}

// Waits reports whether every path from in to a return waits first: calls
// Wait on a sync.WaitGroup or an errgroup.Group, or receives from a
// channel. A goroutine started at in is then likely joined before the
// function returns.
func Waits(in ssa.Instruction) bool {
	stop := func(x ssa.Instruction) bool {
		switch x := x.(type) {
		case *ssa.UnOp:
			return x.Op == token.ARROW
		case *ssa.Select:
			return x.Blocking
		case ssa.CallInstruction:
			if _, ok := x.(*ssa.Call); !ok {
				return false
			}
			f := x.Common().StaticCallee()
			if f == nil || f.Name() != "Wait" || f.Signature.Recv() == nil {
				return false
			}
			t := f.Signature.Recv().Type()
			if p, ok := t.(*types.Pointer); ok {
				t = p.Elem()
			}
			s := types.TypeString(t, nil)
			return s == "sync.WaitGroup" || s == "golang.org/x/sync/errgroup.Group"
		}
		return false
	}
	return len(Reach(in.Parent(), in, stop, nil)) == 0
}

// FailedTestPrune skips the branch on which a testify assertion failed
// (if !assert.X(...) { ... }): a test that has failed may leave objects
// behind.
func FailedTestPrune(in *ssa.If) int {
	cond, neg := in.Cond, false
	if u, ok := cond.(*ssa.UnOp); ok && u.Op == token.NOT {
		cond, neg = u.X, true
	}
	call, ok := cond.(*ssa.Call)
	if !ok {
		return -1
	}
	f := call.Call.StaticCallee()
	if f == nil || f.Pkg == nil || f.Pkg.Pkg.Path() != "github.com/stretchr/testify/assert" {
		return -1
	}
	if neg {
		return 0
	}
	return 1
}

// FailsTest reports whether in marks the running test failed (t.Error,
// t.Errorf, t.Fail): the paths after it are a failed test's.
func FailsTest(in ssa.Instruction) bool {
	call, ok := in.(*ssa.Call)
	if !ok {
		return false
	}
	var name string
	var recv types.Type
	if call.Call.IsInvoke() {
		name, recv = call.Call.Method.Name(), call.Call.Value.Type()
	} else if f := call.Call.StaticCallee(); f != nil && f.Signature.Recv() != nil {
		name, recv = f.Name(), f.Signature.Recv().Type()
	} else {
		return false
	}
	switch name {
	case "Error", "Errorf", "Fail":
	default:
		return false
	}
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	n, ok := types.Unalias(recv).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "testing"
}

// staticSkip returns the successor of in that types rule out: in tests a
// type assertion on a value boxed just before (as a type switch on it
// does), whose outcome the value's static type decides. It returns -1 if
// both successors may be taken.
func staticSkip(in *ssa.If) int {
	ex, ok := in.Cond.(*ssa.Extract)
	if !ok || ex.Index != 1 {
		return -1
	}
	ta, ok := ex.Tuple.(*ssa.TypeAssert)
	if !ok {
		return -1
	}
	mi, ok := ta.X.(*ssa.MakeInterface)
	if !ok {
		return -1
	}
	t := mi.X.Type()
	if hasTypeParam(t) || hasTypeParam(ta.AssertedType) {
		return -1
	}
	holds := types.Identical(t, ta.AssertedType)
	if iface, ok := ta.AssertedType.Underlying().(*types.Interface); ok {
		holds = types.Implements(t, iface)
	}
	if holds {
		return 1
	}
	return 0
}

func hasTypeParam(t types.Type) bool {
	found := false
	var walk func(t types.Type, depth int)
	walk = func(t types.Type, depth int) {
		if found || depth > 8 {
			return
		}
		switch u := types.Unalias(t).(type) {
		case *types.TypeParam:
			found = true
		case *types.Pointer:
			walk(u.Elem(), depth+1)
		case *types.Slice:
			walk(u.Elem(), depth+1)
		case *types.Named:
			if args := u.TypeArgs(); args != nil {
				for a := range args.Types() {
					walk(a, depth+1)
				}
			}
		}
	}
	walk(t, 0)
	return found
}

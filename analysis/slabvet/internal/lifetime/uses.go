package lifetime

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

// MustRoot strips from v the steps that keep the same object on every path
// (type changes, interface boxing, loads of a variable written once), so
// that two values with the same root are the same object.
func MustRoot(v ssa.Value) ssa.Value {
	for {
		switch x := v.(type) {
		case *ssa.ChangeType:
			v = x.X
		case *ssa.MakeInterface:
			v = x.X
		case *ssa.TypeAssert:
			if x.CommaOk {
				return v
			}
			v = x.X
		case *ssa.UnOp:
			if x.Op != token.MUL || !singleStoreCell(x.X) {
				return v
			}
			v = storedIn(x.X)
		default:
			return v
		}
	}
}

func storedIn(cell ssa.Value) ssa.Value {
	for _, r := range *cell.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == cell {
			return st.Val
		}
	}
	return cell
}

// A UseKind says how an instruction uses an object's value.
type UseKind int

const (
	// NoUse: the instruction does not reach the object's memory (a nil
	// test, a map key, a capture) or only renames the value.
	NoUse UseKind = iota
	// Use reads or writes the object, calls a method on it, or passes it
	// to a function. Returning, sending or storing a freed pointer is not
	// counted: tests of the pool do it on purpose, and the next reader is
	// the one to report.
	Use
	// FreeUse frees it.
	FreeUse
)

// UseOf classifies in's use of u, the object's value. ref says u is a
// slab.Ref, for which only Get, RefOf and FreeRef count: a stale Ref is
// harmless until one of them is called with it.
func (env *Env) UseOf(in ssa.Instruction, u ssa.Value, ref bool) UseKind {
	if call, ok := in.(ssa.CallInstruction); ok {
		common := call.Common()
		if _, ok := common.Value.(*ssa.Builtin); ok {
			return NoUse
		}
		callee := common.StaticCallee()
		if callee != nil {
			if api, ok := env.API(callee); ok {
				for i, a := range common.Args {
					if a != u || i != api.Arg {
						continue
					}
					switch api.Role {
					case slabapi.Free, slabapi.FreeRef:
						return FreeUse
					case slabapi.Deref, slabapi.RefOf:
						return Use
					}
				}
				return NoUse
			}
		}
		if ref || comparesAddresses(callee) {
			return NoUse
		}
		if callee != nil {
			if s, ok := env.Summary(callee); ok {
				for i, a := range common.Args {
					if a == u && i < 64 && s.Frees&(1<<i) != 0 {
						return FreeUse
					}
				}
			}
		}
		for _, a := range common.Args {
			if a == u {
				return Use
			}
		}
		if common.Value == u {
			return Use
		}
		return NoUse
	}
	if ref {
		return NoUse
	}
	switch in := in.(type) {
	case *ssa.FieldAddr, *ssa.IndexAddr, *ssa.Slice:
		return Use
	case *ssa.UnOp:
		if in.Op == token.MUL {
			return Use
		}
	case *ssa.Store:
		// A write through the pointer; storing the pointer itself is not
		// a use of the object.
		if in.Addr == u {
			return Use
		}
	}
	return NoUse
}

// FirstResult returns the first result of call: the call itself, or the
// Extract of its first result, or nil if that result is not used.
func FirstResult(call *ssa.Call) ssa.Value {
	if _, ok := call.Type().(*types.Tuple); !ok {
		if len(*call.Referrers()) == 0 {
			return nil
		}
		return call
	}
	for _, r := range *call.Referrers() {
		if ex, ok := r.(*ssa.Extract); ok && ex.Index == 0 {
			return ex
		}
	}
	return nil
}

// comparesAddresses reports whether fn only compares the pointers it is
// given: testify's Same and NotSame, which tests call on freed pointers to
// check that a slot is, or is not, reused.
func comparesAddresses(fn *ssa.Function) bool {
	if fn == nil || fn.Pkg == nil {
		return false
	}
	switch fn.Pkg.Pkg.Path() {
	case "github.com/stretchr/testify/assert", "github.com/stretchr/testify/require":
	default:
		return false
	}
	switch fn.Name() {
	case "Same", "Samef", "NotSame", "NotSamef":
		return true
	}
	return false
}

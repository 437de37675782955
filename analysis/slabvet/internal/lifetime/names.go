package lifetime

import (
	"go/ast"
	"go/token"

	"golang.org/x/tools/go/ssa"
)

// Name returns the source name of v for a message: a variable's or
// parameter's name, or a description of the call that made it.
func Name(v ssa.Value) string {
	switch v := v.(type) {
	case *ssa.Parameter:
		return v.Name()
	case *ssa.FreeVar:
		return v.Name()
	case *ssa.Alloc:
		if v.Comment != "" {
			return v.Comment
		}
	case *ssa.Phi:
		if v.Comment != "" {
			return v.Comment
		}
	case *ssa.UnOp:
		if v.Op == token.MUL {
			switch x := v.X.(type) {
			case *ssa.Alloc, *ssa.FreeVar:
				return Name(x)
			}
		}
		if id := definedAt(v.Parent(), v.Pos(), 0); id != "" {
			return id
		}
	case *ssa.ChangeType:
		return Name(v.X)
	case *ssa.MakeInterface:
		return Name(v.X)
	case *ssa.Extract:
		if c, ok := v.Tuple.(*ssa.Call); ok {
			if id := assignedTo(c.Parent(), c.Pos(), v.Index); id != "" {
				return id
			}
			return "the result of " + callName(c.Common())
		}
		if id := definedAt(v.Parent(), v.Tuple.Pos(), v.Index); id != "" {
			return id
		}
	case *ssa.Call:
		if id := assignedTo(v.Parent(), v.Pos(), 0); id != "" {
			return id
		}
		return "the result of " + callName(v.Common())
	}
	return "the object"
}

func callName(c *ssa.CallCommon) string {
	if f := c.StaticCallee(); f != nil {
		return f.Name()
	}
	return "the call"
}

// assignedTo returns the name of the variable that the result idx of the
// call whose '(' is at lparen is assigned to, if it is assigned to one.
func assignedTo(fn *ssa.Function, lparen token.Pos, idx int) string {
	syn := fn.Syntax()
	if syn == nil || !lparen.IsValid() {
		return ""
	}
	var stack []ast.Node
	var parent ast.Node
	var call *ast.CallExpr
	ast.Inspect(syn, func(n ast.Node) bool {
		if call != nil {
			return false
		}
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if c, ok := n.(*ast.CallExpr); ok && c.Lparen == lparen {
			call = c
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			return false
		}
		stack = append(stack, n)
		return true
	})
	var lhs, rhs []ast.Expr
	switch p := parent.(type) {
	case *ast.AssignStmt:
		lhs, rhs = p.Lhs, p.Rhs
	case *ast.ValueSpec:
		for _, id := range p.Names {
			lhs = append(lhs, id)
		}
		rhs = p.Values
	default:
		return ""
	}
	j := idx
	if len(rhs) > 1 {
		for k, r := range rhs {
			if r == call {
				j = k
			}
		}
	}
	if j < len(lhs) {
		if id, ok := lhs[j].(*ast.Ident); ok && id.Name != "_" {
			return id.Name
		}
	}
	return ""
}

// End returns the position of fn's closing brace, where a function without
// an explicit return ends.
func End(fn *ssa.Function) token.Pos {
	switch s := fn.Syntax().(type) {
	case *ast.FuncDecl:
		if s.Body != nil {
			return s.Body.Rbrace
		}
	case *ast.FuncLit:
		return s.Body.Rbrace
	}
	return fn.Pos()
}

// Line returns the line of pos.
func Line(env *Env, pos token.Pos) int { return env.Pass.Fset.Position(pos).Line }

// definedAt returns the variable that result idx of an assignment whose
// one right-hand side contains pos defines (last := xs[2], e, ok := m[k]),
// if there is one.
func definedAt(fn *ssa.Function, pos token.Pos, idx int) string {
	syn := fn.Syntax()
	if syn == nil || !pos.IsValid() {
		return ""
	}
	name := ""
	ast.Inspect(syn, func(n ast.Node) bool {
		if name != "" || n == nil || n.Pos() > pos || n.End() <= pos {
			return name == ""
		}
		if as, ok := n.(*ast.AssignStmt); ok && idx < len(as.Lhs) && len(as.Rhs) == 1 &&
			as.Rhs[0].Pos() <= pos && pos < as.Rhs[0].End() {
			if id, ok := as.Lhs[idx].(*ast.Ident); ok && id.Name != "_" {
				name = id.Name
			}
		}
		return true
	})
	return name
}

package lifetime

import (
	"bytes"
	"go/ast"
	"go/printer"
	"go/token"
	"go/types"

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
		if o := f.Origin(); o != nil {
			f = o // StringIn, not StringIn[[]byte]
		}
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
			return false
		}
		stack = append(stack, n)
		return true
	})
	if call == nil {
		return ""
	}
	if len(stack) > 0 {
		parent = stack[len(stack)-1]
	}
	// A field of a composite literal assigned to a variable: st.buf for
	// st := encodeState{buf: buffers.Alloc()}.
	if kv, ok := parent.(*ast.KeyValueExpr); ok && kv.Value == call && len(stack) >= 3 && idx == 0 {
		key, ok := kv.Key.(*ast.Ident)
		up := stack[len(stack)-3]
		if u, isAddr := up.(*ast.UnaryExpr); isAddr && u.Op == token.AND && len(stack) >= 4 {
			up = stack[len(stack)-4]
		}
		if as, isAssign := up.(*ast.AssignStmt); ok && isAssign && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
			if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name != "_" {
				return id.Name + "." + key.Name
			}
		}
		return ""
	}
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

// Origin returns the first field or element read on the way from the trace's
// root to v (req.ID for Response{ID: req.ID}), and its source text, or nil
// and "" if there is none with a place in the source.
func Origin(t *Trace, v ssa.Value) (ssa.Value, string) {
	for seen := map[ssa.Value]bool{}; v != nil && !seen[v]; v = t.From(v) {
		seen[v] = true
		if text := readText(t, v); text != "" {
			return v, text
		}
		// A variable that holds a copy of a value read from the object
		// (imp in for _, imp := range req.Imp) names it, unless that
		// read has a name of its own.
		if a, ok := v.(*ssa.Alloc); ok && isVarName(a.Comment) {
			if from := t.From(a); from != nil && readText(t, from) == "" && storedWhole(a, from) {
				return a, a.Comment
			}
		}
	}
	return nil, ""
}

func storedWhole(cell, v ssa.Value) bool {
	for _, ref := range *cell.Referrers() {
		if st, ok := ref.(*ssa.Store); ok && st.Addr == cell && st.Val == v {
			return true
		}
	}
	return false
}

// isVarName reports whether an Alloc's comment is a variable's name, not
// a note such as "complit" or "varargs".
func isVarName(c string) bool {
	switch c {
	case "complit", "varargs", "slicelit", "new", "":
		return false
	}
	return token.IsIdentifier(c)
}

// readText returns the source text of v when v reads a field or an element
// (a load through &x.f or &x[i], or x.f of a struct value) of traced memory
// other than a variable that the function filled itself.
func readText(t *Trace, v ssa.Value) string {
	// own reports whether addr is in a local variable or composite literal
	// that the function stored a part of the object in (p.Segments after
	// p.Segments = append(p.Segments, imp.TagID)): what is read from it
	// names the function's own variable, not the object's memory. A copy
	// of a whole value (imp in for _, imp := range req.Imp) does name it.
	own := func(addr ssa.Value) bool {
		r := rootOf(addr, false)
		if r.kind != rootLocal {
			return false
		}
		from := t.From(r.v)
		if from == nil {
			return false // the root itself
		}
		return !storedWhole(r.v, from)
	}
	var at ssa.Value
	switch v := v.(type) {
	case *ssa.UnOp:
		if v.Op != token.MUL {
			return ""
		}
		switch a := v.X.(type) {
		case *ssa.FieldAddr, *ssa.IndexAddr:
			if own(a) {
				return "" // read back from a variable of the function's own
			}
			at = a
		}
	case *ssa.Field:
		if x, ok := v.X.(*ssa.UnOp); ok && x.Op == token.MUL && own(x.X) {
			return ""
		}
		at = v
	case *ssa.Index:
		at = v
	}
	if at == nil || !at.Pos().IsValid() {
		return ""
	}
	fn := v.Parent()
	syn := fn.Syntax()
	if syn == nil {
		return ""
	}
	var expr ast.Expr
	ast.Inspect(syn, func(n ast.Node) bool {
		if expr != nil || n == nil || n.Pos() > at.Pos() || n.End() <= at.Pos() {
			return expr == nil
		}
		_, index := at.(*ssa.IndexAddr)
		if _, ok := at.(*ssa.Index); ok {
			index = true
		}
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if !index && n.Sel.Pos() == at.Pos() {
				expr = n
			}
		case *ast.IndexExpr:
			if index && n.Lbrack == at.Pos() {
				expr = n
			}
		}
		return true
	})
	if expr == nil {
		return ""
	}
	var b bytes.Buffer
	if err := printer.Fprint(&b, fn.Prog.Fset, expr); err != nil {
		return ""
	}
	return b.String()
}

// Fix says how to keep a value of type t beyond its scope: a copy made
// before the scope ends, which for a string is strings.Clone and for a
// slice of plain values slices.Clone.
func Fix(t types.Type) string {
	const end = " before the scope ends"
	strs := func(t types.Type) bool { return holdsString(t, map[types.Type]bool{}) }
	ptrs := func(t types.Type) bool { return hasPointers(t, map[types.Type]bool{}) }
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Info()&types.IsString != 0 {
			return "copy it with strings.Clone" + end
		}
	case *types.Slice:
		if !strs(u.Elem()) && !ptrs(u.Elem()) {
			return "copy it with slices.Clone" + end
		}
		return "copy it, and what its elements refer to, out" + end + " (slices.Clone copies only the slice)"
	case *types.Pointer:
		t = u.Elem()
	}
	fix := "copy the value out" + end
	if strs(t) {
		fix += ", its strings with strings.Clone"
	}
	if ptrs(t) {
		fix += ", and what it points to"
	}
	return fix
}

// Scrubbed reports whether v, which the trace reached, was reached through a
// local copy of a struct (u := *req.User) each of whose fields that can
// refer to memory was overwritten with a value the trace does not follow
// (u.ID = strings.Clone(u.ID)) after the copy and before the copy was read
// on the way to v (or before at, if it was not read): then v holds the new
// values, not the traced memory.
func (t *Trace) Scrubbed(v ssa.Value, at ssa.Instruction) bool {
	var next ssa.Value // the value reached from v: where the copy is read
	for seen := map[ssa.Value]bool{}; v != nil && !seen[v]; next, v = v, t.From(v) {
		seen[v] = true
		a, ok := v.(*ssa.Alloc)
		if !ok {
			continue
		}
		from := t.From(a)
		if from == nil {
			continue
		}
		var copied *ssa.Store
		for _, ref := range *a.Referrers() {
			if st, ok := ref.(*ssa.Store); ok && st.Addr == a && st.Val == from {
				copied = st
			}
		}
		st, ok := a.Type().(*types.Pointer).Elem().Underlying().(*types.Struct)
		if copied == nil || !ok {
			continue
		}
		read := at
		if in, ok := next.(ssa.Instruction); ok && next != nil {
			read = in
		}
		if scrubbed(t, a, st, copied, read) {
			return true
		}
	}
	return false
}

// scrubbed reports whether every field of the struct variable a that can
// refer to memory is overwritten, after copied and before read, with a
// value the trace does not follow.
func scrubbed(t *Trace, a *ssa.Alloc, st *types.Struct, copied *ssa.Store, read ssa.Instruction) bool {
	for i := 0; i < st.NumFields(); i++ {
		ft := st.Field(i).Type()
		if !holdsString(ft, map[types.Type]bool{}) && !hasPointers(ft, map[types.Type]bool{}) {
			continue
		}
		overwritten := false
		for _, ref := range *a.Referrers() {
			fa, ok := ref.(*ssa.FieldAddr)
			if !ok || fa.Field != i {
				continue
			}
			for _, r := range *fa.Referrers() {
				s, ok := r.(*ssa.Store)
				if !ok || s.Addr != fa {
					continue
				}
				if _, traced := t.Values[s.Val]; !traced && Dominates(copied, s) && Dominates(s, read) {
					overwritten = true
				}
			}
		}
		if !overwritten {
			return false
		}
	}
	return true
}

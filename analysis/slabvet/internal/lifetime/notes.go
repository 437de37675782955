package lifetime

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// Checks are the names of the slabvet checks, as //slabvet:ignore names them.
var Checks = []string{"lostfree", "useafterfree", "scopeescape", "scopecopy"}

// Notes are a package's //slabvet: comments.
//
// In a function's doc comment:
//
//	//slabvet:frees x      the function frees x on every path that returns
//	//slabvet:retains x    it keeps x beyond the call (stores, sends or hands it on)
//	//slabvet:borrows x    it uses x only during the call
//
// where x is a parameter's name (the receiver's too), or several separated
// by commas. On a line, or on the line before it, or in the doc comment of
// the function around it:
//
//	//slabvet:ignore [check,...] [reason]
//
// silences the named checks (all of them if none is named) there.
type Notes struct {
	funcs   map[*types.Func][]note
	ignores []ignore
	fset    *token.FileSet
}

type note struct {
	verb  string
	names []string
}

type ignore struct {
	file     string
	line     int       // the line of the comment; it covers this line and the next
	from, to token.Pos // or a whole function
	checks   []string  // nil: all
}

// ParseNotes reads the //slabvet: comments of the package being analysed.
func ParseNotes(pass *analysis.Pass) *Notes {
	n := &Notes{funcs: map[*types.Func][]note{}, fset: pass.Fset}
	for _, f := range pass.Files {
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				verb, args, ok := directive(c.Text)
				if !ok || verb != "ignore" {
					continue
				}
				p := pass.Fset.Position(c.Slash)
				n.ignores = append(n.ignores, ignore{file: p.Filename, line: p.Line, checks: ignoredChecks(args)})
			}
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			obj, _ := pass.TypesInfo.Defs[fd.Name].(*types.Func)
			for _, c := range fd.Doc.List {
				verb, args, ok := directive(c.Text)
				if !ok {
					continue
				}
				switch verb {
				case "ignore":
					n.ignores = append(n.ignores, ignore{from: fd.Pos(), to: fd.End(), checks: ignoredChecks(args)})
				case "frees", "retains", "borrows":
					var names []string
					for _, a := range args {
						for _, s := range strings.Split(a, ",") {
							if s != "" {
								names = append(names, s)
							}
						}
					}
					if obj != nil {
						n.funcs[obj] = append(n.funcs[obj], note{verb, names})
					}
				}
			}
		}
	}
	return n
}

func directive(text string) (verb string, args []string, ok bool) {
	rest, ok := strings.CutPrefix(text, "//slabvet:")
	if !ok {
		return "", nil, false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", nil, false
	}
	return f[0], f[1:], true
}

// ignoredChecks returns the checks named first in an ignore directive's
// arguments, or nil for all.
func ignoredChecks(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	var out []string
	for _, s := range strings.Split(args[0], ",") {
		if !slices.Contains(Checks, s) {
			return nil // a reason, not a list of checks
		}
		out = append(out, s)
	}
	return out
}

// Ignored reports whether check is silenced at pos.
func (n *Notes) Ignored(check string, pos token.Pos) bool {
	p := n.fset.Position(pos)
	for _, ig := range n.ignores {
		if ig.checks != nil && !slices.Contains(ig.checks, check) {
			continue
		}
		if ig.from.IsValid() {
			if ig.from <= pos && pos < ig.to {
				return true
			}
			continue
		}
		if ig.file == p.Filename && (ig.line == p.Line || ig.line == p.Line-1) {
			return true
		}
	}
	return false
}

// apply overrides s with fn's annotations.
func (n *Notes) apply(fn *ssa.Function, s *Summary) {
	obj, _ := fn.Object().(*types.Func)
	if obj == nil {
		return
	}
	for _, nt := range n.funcs[obj] {
		for _, name := range nt.names {
			i := slices.Index(s.Names, name)
			if i < 0 || i >= 64 {
				continue
			}
			bit := uint64(1) << i
			switch nt.verb {
			case "frees":
				s.Frees |= bit
				s.MayFree |= bit
				s.Borrows &^= bit
			case "retains":
				s.Borrows &^= bit
				s.Escapes |= bit
				s.setWhy(i, "kept by "+fn.Name()+" (//slabvet:retains)")
			case "borrows":
				s.Borrows |= bit
				s.Escapes &^= bit
				s.GoEscapes &^= bit
				s.Frees &^= bit
				s.MayFree &^= bit
				if i < len(s.Why) {
					s.Why[i] = ""
				}
			}
		}
	}
}

// A Reporter reports one check's diagnostics, leaving out those that an
// ignore directive silences, and keeps them as the check's result.
type Reporter struct {
	pass  *analysis.Pass
	check string
	notes *Notes
	seen  map[token.Pos]bool
	Diags []analysis.Diagnostic
}

// NewReporter returns a Reporter for check.
func NewReporter(pass *analysis.Pass, check string, notes *Notes) *Reporter {
	return &Reporter{pass: pass, check: check, notes: notes, seen: map[token.Pos]bool{}}
}

// Report reports d unless it is silenced, at its position or at one of the
// related positions (where the object was allocated, say), or a diagnostic
// was already reported at its position.
func (r *Reporter) Report(d analysis.Diagnostic, related ...token.Pos) {
	if r.seen[d.Pos] || r.notes.Ignored(r.check, d.Pos) {
		return
	}
	for _, p := range related {
		if r.notes.Ignored(r.check, p) {
			return
		}
	}
	r.seen[d.Pos] = true
	r.pass.Report(d)
	r.Diags = append(r.Diags, d)
}

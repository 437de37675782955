package poison

// RefInfo is a reference word as tests see it.
type RefInfo struct {
	Name        string
	Off, Word   uintptr
	Kind        string
	Win, WinLen uintptr
	MaxLen      int
	Shared      bool
}

// RefInfos returns the layout's reference words, by offset.
func (l *Layout) RefInfos() []RefInfo {
	out := make([]RefInfo, len(l.refs))
	for i, r := range l.refs {
		out[i] = RefInfo{r.name, r.off, r.word, r.kind.String(), r.win, r.winLen, r.maxLen, r.shared}
	}
	return out
}

// CellSizeOf returns the cell size the layout's windows were laid out for.
func (l *Layout) CellSizeOf() uintptr { return l.cellSize }

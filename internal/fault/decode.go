package fault

import (
	"sync"
	"sync/atomic"
)

// Fields describes, for fault reports, the type whose objects a cell or a
// guard page held. Package poison's Layout implements it.
type Fields interface {
	// TypeName is the object's type as reports print it, such as
	// "*main.Order".
	TypeName() string
	// Access describes the access at offset off of a cell poisoned with
	// this type: which reference word the program read, and what it
	// reached through it.
	Access(off uintptr) Access
	// Field names the field holding byte off of an object, as a Go
	// selector such as "Lines[2].Qty", and returns its byte range.
	Field(off uintptr) (name string, from, to uintptr)
}

// An Access is what a fault in a cell says about the program's access.
type Access struct {
	// Field is the reference word the program read from the freed object,
	// as a Go selector: "Customer", "Items", "Lines[2].Next". For a word
	// that shares its window with later ones (a type with more reference
	// words than a cell separates), it names the first of them and Shared
	// is set.
	Field  string
	Shared bool
	// Offset is the offset of the word in the object.
	Offset uintptr
	// Kind is the word's kind: "pointer", "unsafe.Pointer", "map",
	// "chan", "func", "slice", "string" or "interface".
	Kind string
	// Target is what the program reached through the word, such as
	// "Customer.Name", "Items[37]", "Name[3]", or "Meta (the map's
	// header, offset 8)".
	Target string
}

// A FieldsID names a Fields registered with RegisterFields; 0 names none.
type FieldsID uint32

var (
	fieldsMu  sync.Mutex
	fieldsTab atomic.Pointer[[]Fields] // index id-1; replaced, never changed
)

// RegisterFields records f and returns its id, for Record.Fields. Callers
// register each type once (package poison caches its layouts); the table is
// never shrunk.
func RegisterFields(f Fields) FieldsID {
	fieldsMu.Lock()
	defer fieldsMu.Unlock()
	var old []Fields
	if p := fieldsTab.Load(); p != nil {
		old = *p
	}
	tab := append(old[:len(old):len(old)], f)
	fieldsTab.Store(&tab)
	return FieldsID(len(tab))
}

// Fields returns the Fields registered as id, or nil.
func (id FieldsID) Fields() Fields {
	p := fieldsTab.Load()
	if id == 0 || p == nil || int(id) > len(*p) {
		return nil
	}
	return (*p)[id-1]
}

// A Fault is a fault address decoded.
type Fault struct {
	Addr uintptr
	Cell Cell
	// Offset is the offset of Addr in its cell.
	Offset uintptr
	// Record is whom the cell was last handed to; Known is false for the
	// anonymous cell and for a cell never handed out.
	Record Record
	Known  bool
	// Busy is set while the cell is in use: the object it was handed to
	// is still freed and poisoned. Unset, the program kept a copy of a
	// poisoned word past the object's reuse.
	Busy bool
}

// Decode returns the cell of addr and its record, or false if addr lies
// outside the region. It never reserves the region.
func Decode(addr uintptr) (Fault, bool) {
	if !contains(addr) {
		return Fault{}, false
	}
	off := addr - uintptr(base)
	f := Fault{Addr: addr, Cell: Cell(off >> cellShift), Offset: off & (1<<cellShift - 1)}
	if f.Cell == 0 {
		return f, true
	}
	if rec := recordOf(f.Cell, false); rec != nil {
		f.Record, f.Busy = rec.load()
		f.Known = f.Record.Fields != 0
	}
	return f, true
}

// Access describes the access through the poisoned word, or returns false
// if the cell's type is not known.
func (f Fault) Access() (Access, bool) {
	if !f.Known {
		return Access{}, false
	}
	fs := f.Record.Fields.Fields()
	if fs == nil {
		return Access{}, false
	}
	return fs.Access(f.Offset), true
}

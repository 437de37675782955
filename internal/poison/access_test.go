package poison

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/race"
)

// accessEnv names, in a child process, the access to commit and how:
// "<case>:armed" recovers the fault and prints what it decodes to;
// "<case>:crash" lets the fault kill the process.
const accessEnv = "POISON_ACCESS_CHILD"

// sink keeps the compiler from removing reads.
var sink any

// An access reads or writes a freed victim through one of its reference
// words. Each statement that faults carries a marker comment, "access:" and
// the case's name, by which the parent finds its line.
type access struct {
	name   string
	do     func(v *victim)
	field  string // the reference word read
	target string // what was reached through it; "" if it depends on the runtime
	// inMethod is set where the fault is in a method that the access
	// called on the poisoned word (an interface's dynamic type's): the
	// access is the second frame.
	inMethod bool
}

var accesses = []access{
	{"pointer-read", func(v *victim) {
		sink = v.Customer.Name // access:pointer-read
	}, "Customer", "Customer.Name", false},
	{"pointer-write", func(v *victim) {
		v.Customer.Addr[3] = 1 // access:pointer-write
	}, "Customer", "Customer.Addr[3]", false},
	{"slice-read", func(v *victim) {
		sink = v.Items[1000].Qty // access:slice-read
	}, "Items", "Items[1000].Qty", false},
	{"slice-write", func(v *victim) {
		v.Items[5].Price = 2 // access:slice-write
	}, "Items", "Items[5].Price", false},
	{"slice-range", func(v *victim) {
		for _, it := range v.Items { // access:slice-range
			sink = it
		}
	}, "Items", "Items[0].SKU", false},
	{"slice-append", func(v *victim) {
		v.Items = append(v.Items, item{}) // access:slice-append
	}, "Items", "", false},
	{"string-index", func(v *victim) {
		sink = v.Name[3] // access:string-index
	}, "Name", "Name[3]", false},
	{"string-compare", func(v *victim) {
		sink = v.Name == "name-7" // access:string-compare
	}, "Name", "", false},
	{"string-concat", func(v *victim) {
		sink = v.Name + "!" // access:string-concat
	}, "Name", "", false},
	{"map-read", func(v *victim) {
		sink = v.Meta["k"] // access:map-read
	}, "Meta", "", false},
	{"map-write", func(v *victim) {
		v.Meta["k"] = 2 // access:map-write
	}, "Meta", "", false},
	{"map-len", func(v *victim) {
		sink = len(v.Meta) // access:map-len
	}, "Meta", "Meta (the map's header, offset 0)", false},
	{"chan-send", func(v *victim) {
		v.Done <- 1 // access:chan-send
	}, "Done", "", false},
	{"chan-receive", func(v *victim) {
		sink = <-v.Done // access:chan-receive
	}, "Done", "", false},
	{"chan-close", func(v *victim) {
		close(v.Done) // access:chan-close
	}, "Done", "", false},
	{"func-call", func(v *victim) {
		sink = v.F() // access:func-call
	}, "F", "F (the function value, offset 0)", false},
	{"interface-call", func(v *victim) {
		_, _ = v.Sink.Write([]byte("x")) // access:interface-call
	}, "Sink", "Sink (its dynamic value, offset 0)", true},
	{"interface-assert", func(v *victim) {
		sink = v.Any.(int) // access:interface-assert
	}, "Any", "Any (its dynamic value, offset 0)", false},
	{"unsafe-pointer", func(v *victim) {
		sink = *(*int64)(v.Raw) // access:unsafe-pointer
	}, "Raw", "Raw (offset 0)", false},
}

// markerLines maps each access's name to the line of its marker in this
// file.
func markerLines(t *testing.T) map[string]int {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok, "the test knows its own file")
	f, err := os.Open(file)
	require.NoError(t, err, "open %s", file)
	defer f.Close()
	lines := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, name, ok := strings.Cut(sc.Text(), "// access:"); ok {
			lines[strings.TrimSpace(name)] = n
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

// childResult is what an armed child prints: the decoded fault.
type childResult struct {
	Fault   bool
	Decoded bool
	Pool    uint64
	Slot    int
	Serial  uint32
	Busy    bool
	Field   string
	Target  string
	// Functions and Lines are the first frames past the fault, outside
	// the runtime: the line that read the poisoned word first.
	Functions []string
	Lines     []int
}

const (
	childPool   = 42
	childSlot   = 2
	childSerial = 9
)

// runAccessChild commits the access named by spec in this process.
func runAccessChild(spec string) {
	name, mode, _ := strings.Cut(spec, ":")
	var a *access
	for i := range accesses {
		if accesses[i].name == name {
			a = &accesses[i]
		}
	}
	if a == nil {
		fmt.Fprintf(os.Stderr, "no access %q\n", name)
		os.Exit(3)
	}
	slab := make([]victim, 4) // a heap slab, as package slab's
	for i := range slab {
		fill(&slab[i], i)
	}
	v := &slab[childSlot]
	l := For(reflect.TypeFor[victim]())
	l.Poison(unsafe.Pointer(v), fault.Record{Pool: childPool, Slot: childSlot, Serial: childSerial})
	runtime.GC() // the poisoned words are scanned
	lo, hi := fault.Bounds()
	fmt.Fprintf(os.Stderr, "region %#x %#x\n", lo, hi)
	if mode == "crash" {
		a.do(v)
		fmt.Fprintln(os.Stderr, "the access did not fault")
		os.Exit(4)
	}
	debug.SetPanicOnFault(true)
	res := childResult{}
	func() {
		defer func() {
			addr, ok := fault.Addr(recover())
			if !ok {
				return
			}
			res.Fault = true
			res.Functions, res.Lines = faultSite()
			f, ok := fault.Decode(addr)
			if !ok {
				return
			}
			res.Decoded = true
			res.Pool, res.Slot, res.Serial, res.Busy = f.Record.Pool, f.Record.Slot, f.Record.Serial, f.Busy
			if acc, ok := f.Access(); ok {
				res.Field, res.Target = acc.Field, acc.Target
			}
		}()
		a.do(v)
	}()
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	os.Exit(0)
}

// faultSite returns the first two frames below the fault outside the
// runtime: the line that read the poisoned word, and its caller. It must be
// called from the deferred function that recovered the fault.
func faultSite() (fns []string, lines []int) {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	past := false
	for len(lines) < 2 {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.sigpanic":
			past = true
		case past && !strings.HasPrefix(f.Function, "runtime.") && !strings.HasPrefix(f.Function, "internal/runtime/"):
			fns, lines = append(fns, f.Function), append(lines, f.Line)
		}
		if !more {
			break
		}
	}
	return fns, lines
}

func TestMain(m *testing.M) {
	switch spec := os.Getenv(accessEnv); spec {
	case "":
	case "fallback":
		runFallbackChild()
	default:
		runAccessChild(spec)
	}
	os.Exit(m.Run())
}

func runChild(t *testing.T, spec string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), accessEnv+"="+spec, "GOTRACEBACK=single")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "the child ran: %v", err)
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// Each access through a poisoned reference word faults at the line that
// made it, and the fault address decodes to the slot and the field.
func TestAccessFaultsAndDecodes(t *testing.T) {
	requireRegion(t)
	lines := markerLines(t)
	for _, a := range accesses {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runChild(t, a.name+":armed")
			require.Zero(t, code, "the child recovers the fault and exits 0:\n%s", stderr)
			var res childResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), "the child prints its result: %q\n%s", stdout, stderr)
			require.True(t, res.Fault, "the access faults with an address")
			require.True(t, res.Decoded, "the address lies in the fault region")
			assert.Equal(t, uint64(childPool), res.Pool, "the pool")
			assert.Equal(t, childSlot, res.Slot, "the slot")
			assert.Equal(t, uint32(childSerial), res.Serial, "the serial")
			assert.True(t, res.Busy, "the cell is in use: the object is still freed")
			assert.Equal(t, a.field, res.Field, "the reference word read")
			switch {
			case race.Enabled && a.field == "Customer":
				// Race builds check a pointer for nil, at offset 0,
				// before they report the access to the race detector.
				assert.Equal(t, "Customer.ID", res.Target, "what was reached through it: the pointee's start")
			case a.target != "":
				assert.Equal(t, a.target, res.Target, "what was reached through it")
			default:
				assert.True(t, strings.HasPrefix(res.Target, a.field), "the target %q is reached through %s", res.Target, a.field)
			}
			require.Len(t, res.Lines, 2, "the child finds the frames of the fault")
			if a.inMethod {
				assert.Equal(t, "github.com/slabtrack/slabtrack/internal/poison.(*buffer).Write", res.Functions[0],
					"the fault is in the method called on the poisoned word")
				assert.Equal(t, lines[a.name], res.Lines[1], "called at the line of the access")
			} else {
				assert.Equal(t, lines[a.name], res.Lines[0], "the fault is at the line of the access (%s)", res.Functions[0])
			}
		})
	}
}

var crashAddr = regexp.MustCompile(`unexpected fault address (0x[0-9a-f]+)`)

// Without PanicOnFault the access still stops the program at its line: the
// crash prints the address, which lies in the region.
func TestAccessCrashesAtTheLine(t *testing.T) {
	requireRegion(t)
	lines := markerLines(t)
	for _, a := range accesses {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runChild(t, a.name+":crash")
			require.Equal(t, 2, code, "the fault kills the child:\n%s", stderr)
			var lo, hi uintptr
			_, err := fmt.Sscanf(stderr, "region %v %v", &lo, &hi)
			require.NoError(t, err, "the child prints its region:\n%s", stderr)
			m := crashAddr.FindStringSubmatch(stderr)
			require.NotNil(t, m, "the crash prints the fault address:\n%s", stderr)
			addr, err := strconv.ParseUint(m[1], 0, 64)
			require.NoError(t, err)
			assert.True(t, uintptr(addr) >= lo && uintptr(addr) < hi, "the address %#x lies in the region [%#x, %#x)", addr, lo, hi)
			assert.Contains(t, stderr, "addr="+m[1], "the signal line repeats it as addr=")
			assert.Contains(t, stderr, fmt.Sprintf("access_test.go:%d", lines[a.name]), "the traceback shows the line of the access")
		})
	}
}

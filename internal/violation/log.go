package violation

import (
	"fmt"
	"log/slog"
	"strings"
)

// LogAndContinue returns a Handler that logs each violation to l (nil:
// slog.Default()) as one record and lets the program continue; see
// tracker.LogAndContinue.
func LogAndContinue(l *slog.Logger) Handler {
	return func(v *Violation) {
		lg := l
		if lg == nil {
			lg = slog.Default()
		}
		attrs := []any{
			slog.String("summary", v.summary()),
			slog.String("pool", v.Pool),
			slog.String("type", v.Type),
			slog.Int("slot", v.Slot),
		}
		if v.Addr != 0 {
			attrs = append(attrs, slog.String("addr", fmt.Sprintf("%#x", v.Addr)))
		}
		if v.Err != nil {
			attrs = append(attrs, slog.String("error", v.Err.Error()))
		}
		if v.Detail != "" {
			attrs = append(attrs, slog.String("detail", v.Detail))
		}
		if v.Kind == WriteAfterFree && v.Got != nil {
			attrs = append(attrs,
				slog.String("field", v.fieldName()),
				slog.String("found", fmt.Sprintf("% x", v.Got)),
				slog.String("expected", fmt.Sprintf("% x", v.Want)))
		}
		if len(v.Call) > 0 {
			key := "call"
			if v.Kind == WriteAfterFree {
				key = "found_by" // an innocent call: the writer is not known
			}
			attrs = append(attrs, slog.String(key, oneLine(v.Call)))
		}
		if len(v.Free) > 0 || v.FreeAge > 0 {
			attrs = append(attrs, slog.String("freed", oneLine(v.Free)), slog.Duration("freed_ago", v.FreeAge))
		}
		if len(v.Alloc) > 0 || v.AllocAge > 0 {
			attrs = append(attrs, slog.String("allocated", oneLine(v.Alloc)), slog.Duration("allocated_ago", v.AllocAge))
		}
		if v.Kind == Leak {
			attrs = append(attrs, slog.String("report", strings.ReplaceAll(v.Error(), "\n", " | ")))
		}
		lg.Error("slabtrack: "+v.Kind.String(), attrs...)
	}
}

// oneLine formats s on one line, innermost frame first.
func oneLine(s Stack) string {
	if len(s) == 0 {
		return "(no stack recorded)"
	}
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
	}
	return strings.Join(parts, " < ")
}

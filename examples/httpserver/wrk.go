package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript is wrk.lua, which posts the sample order and prints the
// summary line that parseWrk reads.
//
//go:embed wrk.lua
var wrkScript []byte

// newWrkDriver returns a driver that runs wrk with one thread and conns
// connections, posting body with wrk.lua (both written to a temporary
// directory, which the returned function removes). wrk inherits this
// process's CPU pinning.
func newWrkDriver(conns int, body []byte) (driver, func(), error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, nil, fmt.Errorf("-load wrk needs wrk on PATH (apt-get install wrk): %w", err)
	}
	dir, err := os.MkdirTemp("", "httpserver-wrk-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	script, bodyFile := filepath.Join(dir, "wrk.lua"), filepath.Join(dir, "order.json")
	if err := os.WriteFile(script, wrkScript, 0o644); err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		cleanup()
		return nil, nil, err
	}
	drive := func(ctx context.Context, addr string, d time.Duration, progress func(time.Duration, int64)) (loadSummary, error) {
		secs := max(1, int(d.Round(time.Second)/time.Second))
		cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s",
			"-s", script, "http://"+addr, "--", bodyFile)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return loadSummary{}, fmt.Errorf("wrk: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		s, err := parseWrk(out)
		if err == nil && progress != nil {
			progress(s.Elapsed, s.OK+s.Errors)
		}
		return s, err
	}
	return drive, cleanup, nil
}

// parseWrk reads the summary line that wrk.lua's done prints:
//
//	slabtrack-wrk requests=N non200=N socket_errors=N duration_us=N p50_us=N p99_us=N p999_us=N
func parseWrk(out []byte) (loadSummary, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "slabtrack-wrk ")
		if !ok {
			continue
		}
		v := map[string]int64{}
		for _, kv := range strings.Fields(rest) {
			k, val, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return loadSummary{}, fmt.Errorf("wrk summary %q: %s is not a number", rest, kv)
			}
			v[k] = n
		}
		for _, k := range []string{"requests", "non200", "socket_errors", "duration_us", "p50_us", "p99_us", "p999_us"} {
			if _, ok := v[k]; !ok {
				return loadSummary{}, fmt.Errorf("wrk summary %q lacks %s", rest, k)
			}
		}
		if v["socket_errors"] > 0 {
			return loadSummary{}, fmt.Errorf("wrk saw %d socket errors (connect, read, write or timeout)", v["socket_errors"])
		}
		us := func(k string) time.Duration { return time.Duration(v[k]) * time.Microsecond }
		return loadSummary{OK: v["requests"] - v["non200"], Errors: v["non200"], Elapsed: us("duration_us"),
			P50: us("p50_us"), P99: us("p99_us"), P999: us("p999_us")}, nil
	}
	return loadSummary{}, fmt.Errorf("no slabtrack-wrk line in wrk's output (is wrk.lua the script?): %q", out)
}

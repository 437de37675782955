// Command promcheck checks the metrics of package tracker/slabprom against
// a real Prometheus server. It builds the example server and starts it with
// -leak -metrics, starts a Prometheus that scrapes it every second, prices
// orders at a steady pace, then asks Prometheus' HTTP API for the leaked
// objects (slabtrack_objects_live), the allocations, the scopes and the
// bytes they allocated, the rate of allocations and the scope bytes per
// request, and compares each with what it did. It checks a scrape with
// promtool and runs
// every query of docs/grafana-dashboard.json. It stops both processes by
// their pids, and exits 1 with a message naming what did not start or what
// did not match.
//
// Usage (.ci/prometheus installs Prometheus where it is missing, then runs
// it), from the repository's root:
//
//	go run ./scripts/promcheck
//
// It needs prometheus and promtool on PATH, the go command, and nothing but
// loopback.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// leakPool is the pool that the example server's -leak leaks one object of
// per price request.
const leakPool = "request-log"

func main() {
	requests := flag.Int("requests", 200, "price requests to send, at a steady pace")
	pace := flag.Duration("pace", 25*time.Millisecond, "time between two requests")
	keep := flag.Bool("keep", false, "keep the temporary directory (the servers' logs, Prometheus' data)")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("promcheck: ")
	start := time.Now()
	c := &check{requests: *requests, pace: *pace}
	err := c.run(*keep)
	c.stop()
	if err != nil {
		log.Fatalf("FAILED after %v: %v", time.Since(start).Round(100*time.Millisecond), err)
	}
	log.Printf("ok: every check passed in %v", time.Since(start).Round(100*time.Millisecond))
}

// check is one run: its settings and the processes it started.
type check struct {
	requests int
	pace     time.Duration

	dir        string
	server     *process // the example server
	prometheus *process
	serverURL  string // http://127.0.0.1:port
	promURL    string
	client     http.Client
}

// A process is a child started by the check, with its output in a file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string // the file of its standard error (and output, for Prometheus)
	done chan struct{}
}

func (c *check) run(keep bool) error {
	var err error
	if c.dir, err = os.MkdirTemp("", "promcheck-"); err != nil {
		return err
	}
	if keep {
		log.Printf("temporary directory: %s", c.dir)
	} else {
		defer os.RemoveAll(c.dir)
	}
	c.client.Timeout = 5 * time.Second
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		return errors.New("prometheus is not on PATH (.ci/prometheus installs Debian's package)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		return errors.New("promtool is not on PATH (.ci/prometheus installs Debian's package)")
	}

	if err := c.startServer(); err != nil {
		return err
	}
	if err := c.startPrometheus(promBin); err != nil {
		return err
	}
	up, err := c.waitFor(`up{job="slabtrack"}`, 15*time.Second, func(v float64) bool { return v == 1 })
	if err != nil {
		return fmt.Errorf("the Prometheus server did not scrape the example server: %w (its log: %s)", err, c.prometheus.tail())
	}
	log.Printf("Prometheus scrapes the example server: up = %v", up)
	if err := c.drive(); err != nil {
		return err
	}
	// After the load, when every pool the handler uses exists.
	if err := c.checkExposition(promtool); err != nil {
		return err
	}
	return c.checkDashboard("docs/grafana-dashboard.json")
}

// startServer builds the example server and starts it on a free loopback
// port.
func (c *check) startServer() error {
	bin := filepath.Join(c.dir, "httpserver")
	build := exec.Command("go", "build", "-o", bin, "./examples/httpserver")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the example server failed: %v\n%s", err, out)
	}
	p, stdout, err := c.start("the example server", bin, "-heap", "0", "-leak", "-metrics", "-addr", "127.0.0.1:0", "-ready")
	if err != nil {
		return err
	}
	c.server = p
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- addr
			}
		}
	}()
	select {
	case addr := <-ready:
		c.serverURL = "http://" + addr
		log.Printf("the example server (pid %d) listens on %s", p.cmd.Process.Pid, addr)
		return nil
	case <-p.done:
		return fmt.Errorf("the example server did not start: it exited (%v): %s", p.cmd.ProcessState, p.tail())
	case <-time.After(15 * time.Second):
		return fmt.Errorf("the example server did not start: no \"ready\" line in 15s: %s", p.tail())
	}
}

// checkExposition runs promtool check metrics over a scrape of the server.
func (c *check) checkExposition(promtool string) error {
	body, err := c.get(c.serverURL + "/metrics")
	if err != nil {
		return fmt.Errorf("the example server does not serve /metrics: %w", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("promtool check metrics finds problems in /metrics (%v):\n%s", err, out)
	}
	log.Printf("promtool check metrics: clean (%d bytes, %d slabtrack_ lines)", len(body), bytes.Count(body, []byte("\nslabtrack_")))
	return nil
}

// startPrometheus starts a Prometheus on a free loopback port, with its data
// in the temporary directory, scraping the server every second.
func (c *check) startPrometheus(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	target := strings.TrimPrefix(c.serverURL, "http://")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: slabtrack
    static_configs:
      - targets: [%q]
`, target)
	cfgFile := filepath.Join(c.dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{
		"--config.file=" + cfgFile,
		"--storage.tsdb.path=" + filepath.Join(c.dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}
	p, _, err := c.start("Prometheus", bin, args...)
	if err != nil {
		return err
	}
	c.prometheus = p
	c.promURL = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.client.Get(c.promURL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				log.Printf("Prometheus (pid %d) is ready on %s", p.cmd.Process.Pid, addr)
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("the Prometheus server did not start: it exited (%v): %s", p.cmd.ProcessState, p.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Prometheus server did not start: %s/-/ready not ready in 30s (%v): %s", c.promURL, err, p.tail())
		}
	}
}

// counted are the counters that every price request moves by the same
// amount: the allocations from pools (the leaked entry), the scopes of the
// slabhttp middleware, and the bytes those scopes hand out.
var counted = []string{
	"slabtrack_allocations_total",
	"slabtrack_scopes_total",
	"slabtrack_scope_allocated_bytes_total",
}

// drive prices orders at a steady pace and checks what Prometheus saw.
func (c *check) drive() error {
	// A first request makes every pool and ScopePool the handler uses, so
	// that the second one counts as every later one does.
	if err := c.price(); err != nil {
		return err
	}
	before, err := c.serverSums()
	if err != nil {
		return err
	}
	if err := c.price(); err != nil {
		return err
	}
	after, err := c.serverSums()
	if err != nil {
		return err
	}
	perRequest := map[string]float64{}
	for _, m := range counted {
		perRequest[m] = after[m] - before[m]
		if perRequest[m] <= 0 {
			return fmt.Errorf("a price request moved %s by %v, according to the server's /metrics", m, perRequest[m])
		}
		log.Printf("a price request adds %v to %s", perRequest[m], m)
	}

	t0 := time.Now()
	tick := time.NewTicker(c.pace)
	for range c.requests {
		<-tick.C
		if err := c.price(); err != nil {
			tick.Stop()
			return err
		}
	}
	tick.Stop()
	t1 := time.Now()
	sent := c.requests + 2
	achieved := float64(c.requests) / t1.Sub(t0).Seconds()
	log.Printf("sent %d price requests in %v (%.1f/s)", c.requests, t1.Sub(t0).Round(time.Millisecond), achieved)

	// Prometheus' latest sample is at most a scrape old: wait for it.
	q := fmt.Sprintf("slabtrack_objects_live{pool=%q}", leakPool)
	live, err := c.waitFor(q, 10*time.Second, func(v float64) bool { return v == float64(sent) })
	if err != nil {
		return fmt.Errorf("%s: %w; the server leaked one object per request, %d in all", q, err, sent)
	}
	log.Printf("%s = %v: one per request sent", q, live)

	now, err := c.serverSums()
	if err != nil {
		return err
	}
	for _, m := range counted {
		want := after[m] + float64(c.requests)*perRequest[m]
		if now[m] != want {
			return fmt.Errorf("the server's /metrics has %s = %v, not %v + %d requests × %v", m, now[m], after[m], c.requests, perRequest[m])
		}
		q := "sum(" + m + ")"
		got, err := c.waitFor(q, 5*time.Second, func(v float64) bool { return v == want })
		if err != nil {
			return fmt.Errorf("%s: %w; the server counts %v", q, err, want)
		}
		log.Printf("%s = %v, as the server counts", q, got)
	}

	// Rates over a window inside the steady load. Prometheus extrapolates
	// from the samples in the window, a second apart, so a rate is close
	// to the load's, not exact; a ratio of two rates over one window is
	// closer.
	at := t1.Add(-500 * time.Millisecond)
	rate, err := c.query("sum(rate(slabtrack_allocations_total[3s]))", at)
	if err != nil {
		return err
	}
	expect := achieved * perRequest["slabtrack_allocations_total"]
	log.Printf("sum(rate(slabtrack_allocations_total[3s])) at the end of the load = %.1f/s; the load made %.1f/s (%.2f×)", rate, expect, rate/expect)
	if math.Abs(rate/expect-1) > 0.25 {
		return fmt.Errorf("sum(rate(slabtrack_allocations_total[3s])) = %.1f/s, more than 25%% off the %.1f/s that %.1f requests/s × %v allocations make",
			rate, expect, achieved, perRequest["slabtrack_allocations_total"])
	}
	q = "sum(rate(slabtrack_scope_allocated_bytes_total[3s])) / sum(rate(slabtrack_scopes_total[3s]))"
	bytes, err := c.query(q, at)
	if err != nil {
		return err
	}
	want := perRequest["slabtrack_scope_allocated_bytes_total"] / perRequest["slabtrack_scopes_total"]
	log.Printf("scope bytes per request, %s = %.0f; a request allocates %.0f (%.3f×)", q, bytes, want, bytes/want)
	if math.Abs(bytes/want-1) > 0.05 {
		return fmt.Errorf("%s = %.0f, more than 5%% off the %.0f bytes a request allocates in its scope", q, bytes, want)
	}
	return nil
}

// serverSums returns the sum of every series of each counted metric in
// the server's /metrics.
func (c *check) serverSums() (map[string]float64, error) {
	body, err := c.get(c.serverURL + "/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, m := range counted {
		if out[m], err = sumSeries(body, m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkDashboard runs every query of the Grafana dashboard at file, with
// its variables set to every pool and a 5 s rate window: each must be
// valid PromQL, and each must find series, but for those of metrics that
// the example server has none of (bounded pools, debug builds).
func (c *check) checkDashboard(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	vars := strings.NewReplacer("$pool", ".*", "$__rate_interval", "5s")
	n := 0
	for _, p := range dash.Panels {
		for _, t := range p.Targets {
			q := vars.Replace(t.Expr)
			series, err := c.queryVector(q, time.Time{})
			if err != nil {
				return fmt.Errorf("%s, panel %q: %w", file, p.Title, err)
			}
			optional := strings.Contains(q, "slabtrack_objects_limit") || strings.Contains(q, "slabtrack_violations_total") ||
				strings.Contains(q, "slabtrack_objects_quarantined")
			if series == 0 && !optional {
				return fmt.Errorf("%s, panel %q: %s finds no series", file, p.Title, q)
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s has no queries", file)
	}
	log.Printf("the %d queries of %s are valid and find data", n, file)
	return nil
}

// price posts the sample order.
func (c *check) price() error {
	body, err := c.get(c.serverURL + "/v1/orders/sample")
	if err != nil {
		return err
	}
	resp, err := c.client.Post(c.serverURL+"/v1/orders/price", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/orders/price: %s: %s", resp.Status, out)
	}
	return nil
}

// sumSeries adds up the values of every series of metric in an exposition
// in the text format. A metric with no series is an error.
func sumSeries(exposition []byte, metric string) (float64, error) {
	sum, n := 0.0, 0
	for line := range strings.Lines(string(exposition)) {
		rest, ok := strings.CutPrefix(line, metric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue // another metric, or a comment
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: no value in %q", metric, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w in %q", metric, err, line)
		}
		sum += v
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("the exposition has no series of %s", metric)
	}
	return sum, nil
}

// waitFor queries q until its one value satisfies ok, for up to d, and
// returns that value; the error says what the last answer was.
func (c *check) waitFor(q string, d time.Duration, ok func(float64) bool) (float64, error) {
	deadline := time.Now().Add(d)
	for {
		v, err := c.query(q, time.Time{})
		if err == nil && ok(v) {
			return v, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return 0, fmt.Errorf("no answer in %v: %w", d, err)
			}
			return v, fmt.Errorf("the Prometheus server still answers %v after %v", v, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// query asks Prometheus' HTTP API for the instant value of q at t (now if
// t is zero), which must be a single number.
func (c *check) query(q string, t time.Time) (float64, error) {
	r, err := c.instant(q, t)
	if err != nil {
		return 0, err
	}
	if len(r) != 1 {
		return 0, fmt.Errorf("query %s: %d series, want 1", q, len(r))
	}
	s, _ := r[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// queryVector returns the number of series that q finds at t (now if t is
// zero).
func (c *check) queryVector(q string, t time.Time) (int, error) {
	r, err := c.instant(q, t)
	return len(r), err
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string
	Value  [2]any // time, value as a string
}

// instant runs the instant query q at t (now if t is zero).
func (c *check) instant(q string, t time.Time) ([]sample, error) {
	args := url.Values{"query": {q}}
	if !t.IsZero() {
		args.Set("time", strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64))
	}
	resp, err := c.client.Get(c.promURL + "/api/v1/query?" + args.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	// A bad query is a 400 whose body says why.
	var r struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []sample
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w: %s", q, resp.Status, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, not a vector", q, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

func (c *check) get(u string) ([]byte, error) {
	resp, err := c.client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return body, nil
}

// start starts a child with its standard error in a log file and returns
// its standard output.
func (c *check) start(name, bin string, args ...string) (*process, io.Reader, error) {
	logFile := filepath.Join(c.dir, strings.ReplaceAll(strings.ToLower(name), " ", "-")+".log")
	f, err := os.Create(logFile)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = f
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, stdout, nil
}

// stop ends the children the check started, by their pids.
func (c *check) stop() {
	for _, p := range []*process{c.prometheus, c.server} {
		if p == nil {
			continue
		}
		pid := p.cmd.Process.Pid
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			log.Printf("kill %d (%s): %v", pid, p.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		select {
		case <-p.done:
		case <-ctx.Done():
			log.Printf("%s (pid %d) did not stop in 10s after SIGTERM: killing it", p.name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-p.done
		}
		cancel()
	}
}

// tail returns the end of the process's log, for an error message.
func (p *process) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(its log is empty)"
	}
	return "\n" + string(b)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a process to measure, named for the JSON output.
type Proc struct {
	Name string
	PID  int
}

// ToolName is the key of the load tool's own figures in the JSON output.
const ToolName = "tool"

// ParsePids reads a -pids flag: comma-separated entries, each a pid or
// name=pid. A bare pid is named by its number.
func ParsePids(s string) ([]Proc, error) {
	var out []Proc
	seen := map[string]bool{ToolName: true}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, num, ok := strings.Cut(item, "=")
		if !ok {
			name, num = item, item
		}
		name = strings.TrimSpace(name)
		pid, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("-pids: %q is not a pid or name=pid", item)
		}
		if name == "" || seen[name] {
			return nil, fmt.Errorf("-pids: name %q is empty, reserved or used twice", name)
		}
		seen[name] = true
		out = append(out, Proc{Name: name, PID: pid})
	}
	return out, nil
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat. USER_HZ is
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) is a
// constant of the kernel ABI), and reading it would need cgo.
const clockTick = 10 * time.Millisecond

// procStat is what the bench needs of /proc/<pid>/stat.
type procStat struct {
	ppid int
	cpu  time.Duration // utime+stime+cutime+cstime
}

// readStat parses /proc/<pid>/stat. The command name in parentheses may
// contain spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var st procStat
	st.ppid, _ = strconv.Atoi(f[1])
	var ticks int64
	// Children that exited and were waited for are counted in cutime and
	// cstime, so CPU of short-lived helpers is not lost.
	for _, k := range []int{11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	st.cpu = time.Duration(ticks) * clockTick
	return st, nil
}

// tree returns pid and all its descendants, found by walking the parent
// links of every process in /proc.
func tree(pid int) ([]int, error) {
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // gone meanwhile
		}
		children[st.ppid] = append(children[st.ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// TreeCPU is the CPU time (user+system) used so far by pid and its
// descendants.
func TreeCPU(pid int) (time.Duration, error) {
	pids, err := tree(pid)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, p := range pids {
		st, err := readStat(p)
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		sum += st.cpu
	}
	return sum, nil
}

// TreeRSS is the resident memory in KiB of pid and its descendants.
func TreeRSS(pid int) (int64, error) {
	pids, err := tree(pid)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, p := range pids {
		kib, err := rss(p)
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		sum += kib
	}
	return sum, nil
}

// rss reads VmRSS from /proc/<pid>/status; a zombie has none and counts 0.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, nil
}

// SelfCPU is the CPU time (user+system) this process has used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSample is the CPU time so far of the tool and of each measured
// process tree, at one moment.
type cpuSample struct {
	at  time.Time
	cpu map[string]time.Duration
}

func sampleCPU(procs []Proc) (cpuSample, error) {
	s := cpuSample{at: time.Now(), cpu: map[string]time.Duration{ToolName: SelfCPU()}}
	for _, p := range procs {
		d, err := TreeCPU(p.PID)
		if err != nil {
			return s, fmt.Errorf("%s: %w", p.Name, err)
		}
		s.cpu[p.Name] = d
	}
	return s, nil
}

// cpuSeconds is the CPU time used between two samples, in seconds, per
// name.
func cpuSeconds(a, b cpuSample) map[string]float64 {
	out := make(map[string]float64, len(b.cpu))
	for k, v := range b.cpu {
		out[k] = (v - a.cpu[k]).Seconds()
	}
	return out
}

func sampleRSS(procs []Proc) (map[string]int64, error) {
	out := make(map[string]int64, len(procs))
	for _, p := range procs {
		kib, err := TreeRSS(p.PID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		out[p.Name] = kib
	}
	return out, nil
}

// RaiseFileLimit lifts the soft limit on open files to the hard limit: the
// memory scenario holds more than 10,000 connections. It returns the limit
// now in force.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= lim.Max {
		return lim.Cur, nil
	}
	want := lim
	want.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return lim.Cur, errors.Join(errors.New("raising the open-file limit"), err)
	}
	return want.Cur, nil
}

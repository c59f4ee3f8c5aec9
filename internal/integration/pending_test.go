package integration

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Pending reads testdata/pending-scripts.txt: one script name per line, a
// colon, and the reason it does not pass yet. Blank and # lines are ignored.
func Pending(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pending := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, ":")
		name, reason = strings.TrimSpace(name), strings.TrimSpace(reason)
		if !ok || name == "" || reason == "" {
			return nil, fmt.Errorf("%s:%d: want \"script.scs: reason\"", path, n)
		}
		pending[name] = reason
	}
	return pending, sc.Err()
}

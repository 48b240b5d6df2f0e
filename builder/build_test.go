package builder

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildRefusesWhatItCannotDo checks the errors given before anything
// is built: an unsupported instruction with its line, a missing
// Dockerfile, a first instruction that is not FROM.
func TestBuildRefusesWhatItCannotDo(t *testing.T) {
	for _, tc := range []struct{ dockerfile, want string }{
		{"FROM busybox\n\n# a comment\nSHELL [\"/bin/bash\", \"-c\"]\n", "Dockerfile line 4: SHELL is not supported"},
		{"FROM busybox\nONBUILD RUN true\n", "Dockerfile line 2: ONBUILD is not supported"},
		{"", "Dockerfile: file with no instructions"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(tc.dockerfile), 0o644)
		_, err := Build(nil, nil, nil, dir, Options{}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.dockerfile, err, tc.want)
		}
	}
	if _, err := Build(nil, nil, nil, t.TempDir(), Options{Dockerfile: "../../etc/passwd"}, io.Discard); err == nil {
		t.Errorf("a Dockerfile outside the context was read")
	}
}

package builder

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"berth/errdefs"
	"berth/imagestore"
)

// changeInstructions are the Dockerfile instructions docker commit and
// docker import take as --change.
var changeInstructions = map[string]bool{"cmd": true, "entrypoint": true, "env": true, "expose": true, "healthcheck": true,
	"label": true, "stopsignal": true, "user": true, "volume": true, "workdir": true}

// ApplyChanges applies --change instructions ("CMD ["app"]", "ENV A=b")
// to an image's config.
func ApplyChanges(cfg *v1.ConfigFile, changes []string) error {
	b := &builder{configOnly: true, image: imagestore.Image{Config: cfg}, args: map[string]string{}, lex: shell.NewLex('\\')}
	for _, ch := range changes {
		res, err := parser.Parse(strings.NewReader(ch))
		if err != nil {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--change %q: %w", ch, err))
		}
		for _, n := range res.AST.Children {
			n.Value = strings.ToLower(n.Value)
			if !changeInstructions[n.Value] {
				return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%s is not a valid change command", strings.ToUpper(n.Value)))
			}
			if err := dispatchers[n.Value](b, n); err != nil {
				return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--change %q: %w", ch, err))
			}
		}
	}
	return nil
}

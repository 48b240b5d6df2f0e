package image

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"berth/config"
)

// BundleImages makes or finds the tarballs of the images a config bundles
// ([images] bundle): those berth builds from Debian packages are made in
// outDir/images (the python tree is cached in outDir/cache), the others
// are paths relative to the config file.
func BundleImages(c *config.Config, configPath, busybox, outDir string, log io.Writer) ([]string, error) {
	var out []string
	for _, b := range c.Images.BundleList() {
		var path string
		var err error
		switch b {
		case "busybox":
			path = filepath.Join(outDir, "images", "busybox.tar")
			err = BuildBusyboxImage(busybox, path)
		case "python":
			path = filepath.Join(outDir, "images", "python.tar")
			err = BuildPythonImage(filepath.Join(outDir, "cache"), path, log)
		default:
			path = filepath.Join(filepath.Dir(configPath), b)
			_, err = os.Stat(path)
			if err != nil {
				err = fmt.Errorf("image: %s: [images] bundle names %s: %w", configPath, b, err)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	return out, nil
}

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"berth/config"
	"berth/engine"
	"berth/thinpool"
)

// openStorage opens the host's thin pool as the config describes it.
func openStorage() (*thinpool.Storage, error) {
	c, err := config.Load(config.ActivePath)
	if err != nil {
		return nil, err
	}
	return thinpool.Open(poolConfig(c, os.Stderr))
}

// infoVerb prints the host's containers, images and storage, as docker
// info did for devicemapper.
func infoVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: berth info")
		return 2
	}
	var reply struct {
		Containers, ContainersRunning, ContainersStopped, Images int
		Pool                                                     thinpool.Info
		ConfigSource                                             string
		SecurityOptions                                          []string
	}
	if _, err := engine.NewClient(engine.SocketPath).Do("GET", "/info", nil, nil, &reply); err != nil {
		fmt.Fprintf(stderr, "berth info: %v\n", err)
		return 1
	}
	info := reply.Pool
	metaAvail := info.MetadataTotal - info.MetadataUsed
	if info.DataFile != "" {
		// Sparse files can only grow as far as the state disk allows.
		metaAvail = min(metaAvail, info.BackingFree)
	}
	var u unix.Utsname
	unix.Uname(&u)
	w := stdout
	fmt.Fprintf(w, "Containers: %d\n Running: %d\n Stopped: %d\nImages: %d\n", reply.Containers, reply.ContainersRunning, reply.ContainersStopped, reply.Images)
	fmt.Fprintf(w, "Storage Driver: devicemapper\n")
	fmt.Fprintf(w, " Pool Name: %s\n", info.PoolName)
	fmt.Fprintf(w, " Pool Blocksize: %s\n", humanSize(info.PoolBlocksize))
	fmt.Fprintf(w, " Base Device Size: %s\n", humanSize(info.BaseDeviceSize))
	fmt.Fprintf(w, " Backing Filesystem: ext4\n")
	if info.DataFile != "" {
		fmt.Fprintf(w, " Data file: %s\n Metadata file: %s\n", info.DataFile, info.MetadataFile)
	} else {
		fmt.Fprintf(w, " Data device: %s\n Metadata device: %s\n", info.DataDevice, info.MetadataDevice)
	}
	fmt.Fprintf(w, " Data Space Used: %s\n Data Space Total: %s\n Data Space Available: %s\n",
		humanSize(info.DataUsed), humanSize(info.DataTotal), humanSize(info.DataAvailable))
	if info.DataFile != "" {
		fmt.Fprintf(w, " Backing Filesystem Free: %s\n", humanSize(info.BackingFree))
	}
	fmt.Fprintf(w, " Metadata Space Used: %s\n Metadata Space Total: %s\n Metadata Space Available: %s\n",
		humanSize(info.MetadataUsed), humanSize(info.MetadataTotal), humanSize(metaAvail))
	fmt.Fprintf(w, " Thin Pool Minimum Free Space: %d%%\n", info.MinFreePercent)
	fmt.Fprintf(w, " Transaction Id: %d\n", info.TransactionID)
	fmt.Fprintf(w, " Pool Mode: %s\n", info.Mode)
	fmt.Fprintf(w, " Thin Devices: %d\n", info.Devices)
	fmt.Fprintf(w, "Security Options:\n")
	for _, o := range reply.SecurityOptions {
		// Docker's form: name=seccomp,profile=builtin.
		name, rest, _ := strings.Cut(o, ",")
		fmt.Fprintf(w, " %s\n", strings.TrimPrefix(name, "name="))
		for _, kv := range strings.Split(rest, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fmt.Fprintf(w, "  %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
			}
		}
	}
	fmt.Fprintf(w, "Kernel Version: %s\n", unix.ByteSliceToString(u.Release[:]))
	fmt.Fprintf(w, "Operating System: berth %s\n", version)
	fmt.Fprintf(w, "Config: %s\n", reply.ConfigSource)
	return 0
}

// humanSize formats bytes with decimal units and four significant digits,
// as docker info does ("65.54 kB", "107.4 GB").
func humanSize(n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return strconv.FormatFloat(f, 'g', 4, 64) + " " + units[i]
}

// storageVerb is the thin pool's admin tool, as dmsetup was for Docker's:
// berth storage ls | create NAME [ORIGIN] | rm NAME | activate NAME | deactivate NAME | grow [SIZE]
func storageVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: berth storage ls | create NAME [ORIGIN] | rm NAME | activate NAME | deactivate NAME | grow [SIZE]")
		return 2
	}
	st, err := openStorage()
	if err != nil {
		fmt.Fprintf(stderr, "berth storage: %v\n", err)
		return 1
	}
	defer st.Close()
	fail := func(err error) int {
		if err != nil {
			fmt.Fprintf(stderr, "berth storage %s: %v\n", args[0], err)
			return 1
		}
		return 0
	}
	switch {
	case args[0] == "ls" && len(args) == 1:
		devs, err := st.Devices()
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tSIZE\tORIGIN\tACTIVE")
		for _, d := range devs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%v\n", d.Name, d.ID, humanSize(d.Size), d.Origin, d.Active)
		}
		tw.Flush()
		return 0
	case args[0] == "create" && (len(args) == 2 || len(args) == 3):
		origin := ""
		if len(args) == 3 {
			origin = args[2]
		}
		return fail(st.Create(args[1], origin))
	case args[0] == "rm" && len(args) == 2:
		return fail(st.Remove(args[1]))
	case args[0] == "activate" && len(args) == 2:
		path, err := st.Activate(args[1])
		if err == nil {
			fmt.Fprintln(stdout, path)
		}
		return fail(err)
	case args[0] == "deactivate" && len(args) == 2:
		return fail(st.Deactivate(args[1]))
	case args[0] == "grow" && len(args) <= 2:
		var size config.Size
		if len(args) == 2 {
			if size, err = config.ParseSize(args[1]); err != nil {
				return fail(err)
			}
		}
		return fail(st.Grow(int64(size)))
	}
	fmt.Fprintln(stderr, "usage: berth storage ls | create NAME [ORIGIN] | rm NAME | activate NAME | deactivate NAME | grow [SIZE]")
	return 2
}

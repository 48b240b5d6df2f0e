package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a number of bytes, written in berth.toml as an integer or as a
// string with a unit: "512MiB", "10GB", "100G". Units are powers of 1024,
// as in Docker's --memory and dm.basesize: K, M, G, T, each optionally
// followed by B or iB, in either case.
type Size int64

// Byte multiples.
const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var sizeUnits = map[string]Size{
	"": 1, "b": 1,
	"k": KiB, "kb": KiB, "kib": KiB,
	"m": MiB, "mb": MiB, "mib": MiB,
	"g": GiB, "gb": GiB, "gib": GiB,
	"t": TiB, "tb": TiB, "tib": TiB,
}

// ParseSize parses a size such as "10GB" or "512m".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is not a number followed by a unit (e.g. \"10GB\")", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q has unknown unit %q (use B, K, M, G or T, e.g. \"10GB\")", s, t[i:])
	}
	v := n * float64(mult)
	if v >= 1<<63 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(v), nil
}

// UnmarshalTOML accepts an integer number of bytes or a size string.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("size %d is negative", v)
		}
		*s = Size(v)
		return nil
	case string:
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		*s = n
		return nil
	}
	return fmt.Errorf("size must be a string such as \"10GB\" or a number of bytes, not %T", v)
}

// String formats s with the largest unit that divides it into a number
// with at most one decimal.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mult Size
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if s >= u.mult {
			return strconv.FormatFloat(float64(s)/float64(u.mult), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

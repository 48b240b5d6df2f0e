package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode/utf8"
)

// This file is --format as Docker's CLI reads it: a Go template over each
// row, "table" and a template for a table with a header, "json" for a
// JSON object per row, and Docker's template functions.

// templateFuncs are the functions Docker's templates have.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		r, n := utf8.DecodeRuneInString(s)
		return strings.ToUpper(string(r)) + s[n:]
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// headerFuncs are templateFuncs as a table's header row runs them: each
// gives back the header it is handed.
var headerFuncs = template.FuncMap{
	"json":     func(v any) string { return fmt.Sprint(v) },
	"split":    func(v string, _ string) string { return v },
	"join":     func(v string, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"pad":      func(v string, _, _ int) string { return v },
	"truncate": func(v string, _ int) string { return v },
	"println":  func(v string) string { return v },
}

// truncate cuts s to n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ellipsis cuts s to n characters, the last an ellipsis, as Docker's
// tables do.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return truncate(s, n)
	}
	return string([]rune(s)[:n-1]) + "…"
}

// rowFormat is a parsed --format: a template over rows, with a header
// when it is a table.
type rowFormat struct {
	json   bool
	table  bool
	tmpl   *template.Template
	header *template.Template
}

// parseFormat reads format (Docker's: "table ...", "json", or a
// template), or def when it is empty.
func parseFormat(format, def string) (*rowFormat, error) {
	if format == "" || format == "table" {
		format = def
	}
	if format == "json" {
		return &rowFormat{json: true}, nil
	}
	f := &rowFormat{}
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		f.table, format = true, strings.TrimLeft(rest, " ")
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	var err error
	if f.tmpl, err = template.New("").Funcs(templateFuncs).Option("missingkey=error").Parse(format); err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	if f.table {
		if f.header, err = template.New("").Funcs(headerFuncs).Parse(format); err != nil {
			return nil, fmt.Errorf("template parsing error: %w", err)
		}
	}
	return f, nil
}

// write prints rows (each a value whose methods the template calls) and,
// for a table, header first (a value with the same methods giving the
// column names), aligned as Docker's tables.
func (f *rowFormat) write(w io.Writer, header any, rows []any) error {
	if f.json {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
		return nil
	}
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var buf bytes.Buffer
		if err := f.header.Execute(&buf, header); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out, strings.TrimRight(buf.String(), "\n"))
	}
	for _, r := range rows {
		var buf bytes.Buffer
		if err := f.tmpl.Execute(&buf, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out, strings.TrimRight(buf.String(), "\n"))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// fieldsJSON is a row as --format json prints it: each method without
// arguments, by name, as Docker's formatter marshals its contexts.
func fieldsJSON(row any) ([]byte, error) {
	m := map[string]any{}
	v := reflect.ValueOf(row)
	t := v.Type()
	for i := 0; i < t.NumMethod(); i++ {
		meth := t.Method(i)
		if meth.Type.NumIn() != 1 || meth.Type.NumOut() != 1 || meth.Name == "MarshalJSON" {
			continue
		}
		m[meth.Name] = v.Method(i).Call(nil)[0].Interface()
	}
	return json.Marshal(m)
}

// inspectTemplate executes -f FORMAT of docker inspect on a raw JSON
// object, as Docker's inspect does when the typed value does not fit.
func inspectTemplate(format string) (*template.Template, error) {
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// printInspect prints raw JSON objects as docker inspect does: an
// indented array, or each through the template.
func printInspect(w io.Writer, objs []inspected, tmpl *template.Template) error {
	if tmpl == nil {
		var buf bytes.Buffer
		buf.WriteString("[")
		for i, o := range objs {
			if i > 0 {
				buf.WriteString(",")
			}
			buf.Write(o.raw)
		}
		buf.WriteString("]")
		var out bytes.Buffer
		if err := json.Indent(&out, buf.Bytes(), "", "    "); err != nil {
			return err
		}
		if len(objs) == 0 {
			out.Reset()
			out.WriteString("[]")
		}
		fmt.Fprintln(w, out.String())
		return nil
	}
	for _, o := range objs {
		// As Docker's CLI: the typed value first, so that fields print as
		// Docker's types do; the raw JSON for fields the types lack.
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, o.typed); err != nil {
			buf.Reset()
			var v any
			dec := json.NewDecoder(bytes.NewReader(o.raw))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if err := tmpl.Execute(&buf, v); err != nil {
				return fmt.Errorf("template: %w", err)
			}
		}
		fmt.Fprintln(w, buf.String())
	}
	return nil
}

// inspected is an object docker inspect prints: Docker's type for it and
// the engine's JSON.
type inspected struct {
	typed any
	raw   json.RawMessage
}

// newTable is a tabwriter as Docker's CLI aligns its tables.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0) }

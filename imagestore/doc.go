// Package imagestore is berth's image store: images as thin snapshots,
// one per layer chain, with Docker's image JSON beside them. It loads and
// saves docker save tarballs and OCI layouts, imports root filesystems,
// pulls and pushes through registries, keeps tags and digests, the build
// cache's records and the record of the bundled images loaded at first
// boot. Layers are applied with the archive package. See docs/design.md.
package imagestore

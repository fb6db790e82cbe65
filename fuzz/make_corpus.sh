#!/usr/bin/env bash
# Seed corpora for the fuzz targets: OUT/<target>/ (default build-fuzz/corpus). Sources:
# ../shared/testdata/tf (TF-written .index files, the V1 export-00000-of-00001, export.meta and
# its text form, the state_file/checkpoint), the small hand-written inputs in fuzz/seeds/, and
# the files fuzz/make_seeds.cc writes with the APIs our io tests use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build-fuzz/corpus}"
td="$root/../shared/testdata/tf"
mkdir -p "$out"/{fuzz_index_reader,fuzz_v1_reader,fuzz_meta_graph,fuzz_checkpoint_state}

add() {  # add TARGET FILE [PREFIX-BYTE]: copies FILE under its content hash
  local t="$1" f="$2" name
  [[ -f "$f" ]] || return 0
  name=$(sha1sum "$f" | cut -c1-16)
  if [[ $# -ge 3 ]]; then
    { printf "$3"; cat "$f"; } > "$out/$t/$name"
  else
    cp "$f" "$out/$t/$name"
  fi
}

if [[ -d "$td" ]]; then
  for f in "$td"/*/*.index; do add fuzz_index_reader "$f"; done
  add fuzz_v1_reader "$td/v1_half_plus_two/export-00000-of-00001"
  add fuzz_checkpoint_state "$td/state_file/checkpoint"
  # fuzz_meta_graph: the first byte is the import flags (0: defaults, 3: scope + clear_devices).
  add fuzz_meta_graph "$td/v1_half_plus_two/export.meta" '\x00'
  add fuzz_meta_graph "$td/v1_half_plus_two/export.meta" '\x03'
  if command -v protoc >/dev/null; then
    tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
    if protoc --decode=kiln.MetaGraphDef -I "$root" "$root/io/proto/meta_graph.proto" \
         < "$td/v1_half_plus_two/export.meta" > "$tmp" 2>/dev/null; then
      add fuzz_meta_graph "$tmp" '\x00'
    fi
  fi
fi

for t in fuzz_index_reader fuzz_v1_reader fuzz_meta_graph fuzz_checkpoint_state; do
  if [[ -d "$root/fuzz/seeds/$t" ]]; then
    for f in "$root/fuzz/seeds/$t"/*; do add "$t" "$f"; done
  fi
done

# Files written the way our tests write them (fuzz/make_seeds.cc: bundles of several dtypes, a
# partitioned tensor, plain and sharded Saver checkpoints, binary and text meta graphs, state
# files), when build-fuzz/bin/fuzz_make_seeds exists.
seeds_bin="${KILN_FUZZ_SEEDS_BIN:-$root/build-fuzz/bin/fuzz_make_seeds}"
if [[ -x "$seeds_bin" ]]; then
  scratch=$(mktemp -d)
  ASAN_OPTIONS=detect_leaks=0 "$seeds_bin" "$scratch" >/dev/null
  for t in fuzz_index_reader fuzz_meta_graph fuzz_checkpoint_state; do
    for f in "$scratch/$t"/*; do add "$t" "$f"; done
  done
  rm -rf "$scratch"
fi

for t in fuzz_index_reader fuzz_v1_reader fuzz_meta_graph fuzz_checkpoint_state; do
  echo "corpus $t: $(ls "$out/$t" | wc -l) seeds"
done

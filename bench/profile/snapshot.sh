#!/bin/sh
# A build of the server to run beside others in an A/B (bench/profile/fixed-rate.mjs): the tree
# of the last commit (git archive HEAD) with the FILEs given copied over from the working tree,
# compiled into DIR/tree/dist. Starting from HEAD keeps everyone else's uncommitted edits out of
# the comparison (several people edit this working tree at once); node_modules and the browser
# build are linked in.
#   sh bench/profile/snapshot.sh /tmp/ab/base
#   sh bench/profile/snapshot.sh /tmp/ab/mine src/metrics.ts src/chat/handler.ts
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
[ -n "$dir" ] || { echo "usage: snapshot.sh DIR [FILE...]" >&2; exit 2; }
shift
rm -rf "$dir"
mkdir -p "$dir/tree"
git -C "$root" archive HEAD | tar -x -C "$dir/tree"
for f in "$@"; do cp "$root/$f" "$dir/tree/$f"; done
ln -s "$root/node_modules" "$dir/tree/node_modules"
ln -s "$root/public/build" "$dir/tree/public/build"
(cd "$dir/tree" && node node_modules/typescript/bin/tsc -p tsconfig.json --outDir dist)
echo "$dir/tree/dist/main.js"

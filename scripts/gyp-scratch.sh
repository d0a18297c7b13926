# Sourced by build-gyp.sh and prebuild.sh: a scratch copy of what node-gyp builds from (node-gyp would wipe
# build/, where cmake-js puts its output), removed on exit. Sets $scratch.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r binding.gyp package.json native "$scratch/"
ln -s "$PWD/node_modules" "$scratch/node_modules"

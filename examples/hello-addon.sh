#!/bin/sh
# A tiny addon package for trying the package catalogue (docs/packages.md):
#   opampctl upload package hello-addon 1.0.0 examples/hello-addon.sh --type addon
echo "hello from an OpAMP addon package"

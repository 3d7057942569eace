cmd_/work/main/drivers/vdpa/generic/vdpa_gen.mod := printf '%s\n'   core.o | awk '!x[$$0]++ { print("/work/main/drivers/vdpa/generic/"$$0) }' > /work/main/drivers/vdpa/generic/vdpa_gen.mod

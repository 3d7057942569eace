/work/main/drivers/vdpa/generic/core.o

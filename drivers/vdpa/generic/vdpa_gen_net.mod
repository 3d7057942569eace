/work/main/drivers/vdpa/generic/net.o
/work/main/drivers/vdpa/generic/net_switch.o

// A stand-in for init/main.c.
#include <linux/init.h>

void start_kernel(void)
{
	setup_arch();
	mm_init();
	rest_init();
}

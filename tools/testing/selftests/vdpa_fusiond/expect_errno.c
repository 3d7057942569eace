// SPDX-License-Identifier: GPL-2.0
/*
 * expect_errno - check that writing (or reading) a control file fails with
 * a given errno, for the shell tests (a C helper: Python starts too slowly
 * under TCG).
 *
 *   expect_errno ERRNO_NAME w FILE VALUE
 *   expect_errno ERRNO_NAME r FILE
 *
 * Exit 0 if the call failed with ERRNO_NAME (e.g. EINVAL), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *got;
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc < 4 || (argv[2][0] == 'w' && argc < 5)) {
		fprintf(stderr, "usage: expect_errno ERRNO_NAME w FILE VALUE | r FILE\n");
		return 2;
	}
	fd = open(argv[3], argv[2][0] == 'w' ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		got = strerrorname_np(errno);
	} else {
		if (argv[2][0] == 'w')
			n = write(fd, argv[4], strlen(argv[4]));
		else
			n = read(fd, buf, sizeof(buf));
		got = n < 0 ? strerrorname_np(errno) : "success";
		close(fd);
	}
	printf("%s %s%s%s: %s\n", argv[2][0] == 'w' ? "write" : "read",
	       argv[3], argc > 4 ? " <- " : "", argc > 4 ? argv[4] : "",
	       got ? got : "?");
	return got && !strcmp(got, argv[1]) ? 0 : 1;
}

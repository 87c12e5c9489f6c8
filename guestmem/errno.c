// SPDX-License-Identifier: MIT
/*
 * errno.c - errno names for the replay/ctl output and the one place that
 * fills a struct gm_error.
 */
#include <errno.h>
#include <stdio.h>

#include "pool.h"

static const struct {
	int err;
	const char *name;
} names[] = {
	{ EINVAL, "EINVAL" },	{ ENOMEM, "ENOMEM" },	{ ENOSPC, "ENOSPC" },
	{ EEXIST, "EEXIST" },	{ ENOENT, "ENOENT" },	{ EBUSY, "EBUSY" },
	{ ERANGE, "ERANGE" },	{ EIO, "EIO" },		{ ENODEV, "ENODEV" },
	{ EFBIG, "EFBIG" },	{ EPERM, "EPERM" },	{ EACCES, "EACCES" },
	{ ENOSYS, "ENOSYS" },	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ E2BIG, "E2BIG" },	{ EAGAIN, "EAGAIN" },	{ EFAULT, "EFAULT" },
	{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOEXEC, "ENOEXEC" },
	{ ENOTCONN, "ENOTCONN" },	{ EINTR, "EINTR" },	{ ENXIO, "ENXIO" },
};

/*
 * gm_errno_name() - see guestmem.h. Accepts @err positive or negative.
 */
const char *gm_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return "E?";
}

/*
 * gm_error_set() - see guestmem.h.
 */
int gm_error_set(struct gm_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (err > 0)
		err = -err;
	if (e) {
		e->err = -err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

// SPDX-License-Identifier: MIT
/*
 * mount.c - mount, serve and unmount the kvmem filesystem.
 *
 * fs_mount() clears a stale mount (left by a killed kvmem: stat gives
 * ENOTCONN) with a lazy unmount, refuses a live one (-EBUSY), mounts with
 * default_permissions (and allow_other only when asked), then starts
 * FS_NR_WORKERS threads reading requests from the non-blocking /dev/fuse
 * descriptor. Each worker waits on the device and an eventfd, so fs_unmount()
 * can stop them at any time: it unmounts (lazily if a file is still open),
 * signals the eventfd, joins the workers and frees everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "sandbox.h"

#define FUSE_SUPER_MAGIC	0x65735546

/* Unmount @dir lazily: umount2() as root, fusermount3 -u -z otherwise. */
static int detach(const char *dir)
{
	pid_t pid;
	int status;

	if (geteuid() == 0)
		return umount2(dir, MNT_DETACH) ? -errno : 0;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q", dir,
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

/*
 * prepare_dir() - make @dir a usable mount point: create it if missing,
 * clear a stale FUSE mount (ENOTCONN), refuse a live FUSE mount.
 */
static int prepare_dir(const char *dir, struct gm_error *e)
{
	struct statfs sfs;
	struct stat st;
	int ret;

	/*
	 * A dead FUSE mount may still answer stat() from cached attributes;
	 * statfs() always asks the (missing) server.
	 */
	if ((statfs(dir, &sfs) && errno == ENOTCONN) ||
	    (stat(dir, &st) && errno == ENOTCONN)) {
		ret = detach(dir);
		if (ret)
			return gm_error_set(e, ret, "%s: stale mount not cleared: %s",
					    dir, strerror(-ret));
		fprintf(stderr, "kvmem: cleared a stale mount on %s\n", dir);
	}
	if (stat(dir, &st)) {
		if (errno != ENOENT || mkdir(dir, 0755))
			return gm_error_set(e, errno, "%s: %s", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return gm_error_set(e, ENOTDIR, "%s: %s", dir, strerror(ENOTDIR));
	if (!statfs(dir, &sfs) && sfs.f_type == FUSE_SUPER_MAGIC) {
		/* A FUSE root answers stat: is it a mount point? */
		char parent[4096];
		struct stat pst;

		snprintf(parent, sizeof(parent), "%s/..", dir);
		if (!stat(parent, &pst) && pst.st_dev != st.st_dev)
			return gm_error_set(e, EBUSY, "%s: already mounted", dir);
	}
	return 0;
}

/*
 * One worker: an epoll set of its own holding the device (EPOLLEXCLUSIVE,
 * so one request wakes one worker, not all) and the stop eventfd.
 */
static void *worker(void *arg)
{
	struct fs *fs = arg;
	struct fuse_buf buf = { .mem = NULL };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	int ep, ret;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return NULL;
	ev.data.fd = fuse_session_fd(fs->se);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto out;
	ev.events = EPOLLIN;
	ev.data.fd = fs->stop_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fs->stop_fd, &ev))
		goto out;
	sbx_enter(SBX_FUSE, "FUSE worker");
	while (!fuse_session_exited(fs->se)) {
		ret = epoll_wait(ep, &ev, 1, -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 || ev.data.fd == fs->stop_fd)
			break;
		if (ev.events & (EPOLLERR | EPOLLHUP))
			break;
		ret = fuse_session_receive_buf(fs->se, &buf);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret <= 0)
			break;
		fuse_session_process_buf(fs->se, &buf);
	}
out:
	close(ep);
	free(buf.mem);
	return NULL;
}

static void fs_free(struct fs *fs)
{
	if (fs->stop_fd >= 0)
		close(fs->stop_fd);
	fs_cache_release(fs);
	fs_xdir_release(fs);
	pthread_rwlock_destroy(&fs->xdir_lock);
	pthread_mutex_destroy(&fs->xdir_add);
	pthread_mutex_destroy(&fs->cache_lock);
	pthread_mutex_destroy(&fs->lock);
	free(fs->dir);
	free(fs);
}

static void stop_workers(struct fs *fs)
{
	uint64_t one = 1;

	if (write(fs->stop_fd, &one, sizeof(one)) < 0)
		perror("kvmem: eventfd");
	for (unsigned i = 0; i < fs->nr_workers; i++)
		pthread_join(fs->workers[i], NULL);
	fs->nr_workers = 0;
}

int fs_mount_flags(struct gm_mem *mem, const char *dir, const struct fs_vm *vm,
		   unsigned flags, struct fs **out, struct gm_error *e)
{
	char opts[256];
	char *argv[] = { "kvmem", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fs *fs;
	int ret, fd;

	if (!mem || !dir || !*dir || !out || (flags & ~FS_ALLOW_OTHER))
		return gm_error_set(e, EINVAL, "fs_mount: bad arguments");
	if (vm && (!vm->show || !vm->store))
		return gm_error_set(e, EINVAL, "fs_mount: vm callbacks missing");
	ret = prepare_dir(dir, e);
	if (ret)
		return ret;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return gm_error_set(e, ENOMEM, "fs_mount: out of memory");
	fs->mem = mem;
	if (vm) {
		fs->vm_copy = *vm;
		fs->vm = &fs->vm_copy;
	}
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->mtime);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->cache_lock, NULL);
	pthread_rwlock_init(&fs->xdir_lock, NULL);
	pthread_mutex_init(&fs->xdir_add, NULL);
	fs->cache_off = getenv("KVMEM_FS_DIRECT_IO") &&
			!strcmp(getenv("KVMEM_FS_DIRECT_IO"), "1");
	fs->stop_fd = eventfd(0, EFD_CLOEXEC);
	fs->dir = strdup(dir);
	if (fs->stop_fd < 0 || !fs->dir) {
		ret = fs->dir ? errno : ENOMEM;
		ret = gm_error_set(e, ret, "fs_mount: %s", strerror(ret));
		goto err_free;
	}

	snprintf(opts, sizeof(opts),
		 "default_permissions,fsname=kvmem,subtype=kvmem%s",
		 flags & FS_ALLOW_OTHER ? ",allow_other" : "");
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se) {
		ret = gm_error_set(e, EIO, "%s: fuse_session_new failed", dir);
		goto err_free;
	}
	if (fuse_session_mount(fs->se, dir)) {
		ret = gm_error_set(e, EIO, "%s: mount failed (is /dev/fuse usable?)", dir);
		goto err_session;
	}
	fd = fuse_session_fd(fs->se);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	for (; fs->nr_workers < FS_NR_WORKERS; fs->nr_workers++) {
		ret = pthread_create(&fs->workers[fs->nr_workers], NULL, worker, fs);
		if (ret) {
			ret = gm_error_set(e, ret, "fs_mount: threads: %s", strerror(ret));
			goto err_unmount;
		}
	}
	*out = fs;
	return 0;

err_unmount:
	stop_workers(fs);
	fuse_session_unmount(fs->se);
err_session:
	fuse_session_destroy(fs->se);
err_free:
	fs_free(fs);
	return ret;
}

int fs_mount(struct gm_mem *mem, const char *dir, const struct fs_vm *vm,
	     struct fs **out, struct gm_error *e)
{
	return fs_mount_flags(mem, dir, vm, 0, out, e);
}

void fs_unmount(struct fs *fs)
{
	if (!fs)
		return;
	/*
	 * A plain unmount ends the connection at once; while a file is still
	 * open it fails with EBUSY and the mount is detached instead (it goes
	 * away with the last open file, and reads then fail with ENOTCONN).
	 */
	if (geteuid() == 0 && umount2(fs->dir, 0) && errno != EBUSY)
		fprintf(stderr, "kvmem: umount %s: %s\n", fs->dir, strerror(errno));
	/* Detaches if still mounted; frees libfuse's copy of the path. */
	fuse_session_unmount(fs->se);
	stop_workers(fs);
	fuse_session_destroy(fs->se);
	fs_open_release_all(fs);
	fs_free(fs);
}

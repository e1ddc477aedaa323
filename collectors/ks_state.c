/*
 * One owner of KSM at a time, and a durable record of what the owner changed.
 *
 * Before the first write to KSM's sysfs files, the owner's PID, its start
 * time (field 22 of /proc/PID/stat, so a reused PID is not mistaken for the
 * owner), the boot ID and every knob's value are written to a record in the
 * state folder (temporary file, fsync, rename, fsync of the folder).  The
 * record is removed after a complete restore.  When its owner is gone
 * (SIGKILL, OOM kill, crash), the record tells what to put back: the next
 * owner, `ksm-sample --restore`, or the experiment runner does it.
 *
 * Taking, checking and restoring happen under an flock on the state folder,
 * which the kernel drops when its holder dies, so two programs starting at
 * once cannot both become owner or both restore.
 */
#include "ks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void ks_stop_point(const char *point)
{
	const char *want = getenv(KS_STOP_ENV);
	if (want && strcmp(want, point) == 0) {
		fprintf(stderr, KS_PROG ": stopped at '%s' (%s)\n", point, KS_STOP_ENV);
		raise(SIGSTOP);
	}
}

const char *ks_state_default_dir(void)
{
	const char *e = getenv(KS_STATE_ENV);
	return e && *e ? e : KS_STATE_DIR;
}

bool ks_pid_info(pid_t pid, unsigned long long *start, pid_t *ppid, char *comm, size_t commlen)
{
	char path[64], buf[1024];
	int pp = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (pid <= 0 || ks_read_file(path, buf, sizeof buf) < 0 ||
	    !ks_proc_parse_task_stat(buf, NULL, &pp, comm, commlen))
		return false;
	if (ppid)
		*ppid = (pid_t)pp;
	/* field 3 (state) is the first after the comm's last ')'; 22 is starttime */
	char *save = NULL, *tok = strtok_r(strrchr(buf, ')') + 1, " ", &save);
	for (int field = 3; tok; field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3 && *tok == 'Z')
			return false; /* a zombie has ended: it restores nothing */
		if (field == 22) {
			if (start)
				*start = strtoull(tok, NULL, 10);
			return true;
		}
	}
	return false;
}

static void read_boot_id(char *out, size_t len)
{
	char buf[64];
	if (ks_read_file("/proc/sys/kernel/random/boot_id", buf, sizeof buf) < 0)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(out, len, "%s", buf);
}

/* FNV-1a: a short stable name for a KSM folder other than the default */
static unsigned long long fnv1a(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int ks_state_init(struct ks_state *st, const char *dir, const char *ksm_dir)
{
	memset(st, 0, sizeof *st);
	st->lock_fd = -1;
	snprintf(st->dir, sizeof st->dir, "%s", dir ? dir : ks_state_default_dir());
	/* absolute, so that --restore works from any folder */
	char *abs = realpath(ksm_dir, NULL);
	snprintf(st->ksm_dir, sizeof st->ksm_dir, "%s", abs ? abs : ksm_dir);
	free(abs);
	ksm_dir = st->ksm_dir;
	if (strcmp(ksm_dir, KS_KSM_DIR) == 0)
		snprintf(st->path, sizeof st->path, "%s/ksm.state", st->dir);
	else
		snprintf(st->path, sizeof st->path, "%s/ksm-%016llx.state", st->dir, fnv1a(ksm_dir));
	return 0;
}

static int state_lock(struct ks_state *st, char *err, size_t errlen)
{
	if (mkdir(st->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state folder %s: %s (choose another with --state-dir or %s)",
			 st->dir, strerror(errno), KS_STATE_ENV);
		return -1;
	}
	/* the folder itself is the lock: nothing is left behind */
	st->lock_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", st->dir, strerror(errno));
		return -1;
	}
	while (flock(st->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: cannot lock: %s", st->dir, strerror(errno));
			close(st->lock_fd);
			st->lock_fd = -1;
			return -1;
		}
	}
	return 0;
}

static void state_unlock(struct ks_state *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* drops the flock */
	st->lock_fd = -1;
}

/* ---- the record ---- */

struct record {
	struct ks_owner owner;
	char ksm_dir[4096];
	struct ks_knobs knobs; /* saved values only */
};

static int record_add_knob(struct record *r, const char *name, const char *value)
{
	if (!*name || strlen(name) >= KS_NAME_MAX || strchr(name, '/') || strlen(value) >= KS_VALUE_MAX)
		return -1;
	struct ks_knob *p = realloc(r->knobs.k, (r->knobs.n + 1) * sizeof *p);
	if (!p)
		return -1;
	r->knobs.k = p;
	struct ks_knob *k = &p[r->knobs.n++];
	memset(k, 0, sizeof *k);
	memcpy(k->name, name, strlen(name) + 1);
	memcpy(k->saved, value, strlen(value) + 1);
	return 0;
}

/* 1 read, 0 no record, -1 unreadable or malformed (err says where) */
static int record_read(const char *path, struct record *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[8192];
	int lineno = 0, format = 0;
	bool have_pid = false, have_start = false;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			goto bad;
		*eq = 0;
		const char *key = line, *val = eq + 1;
		char *end;
		if (strcmp(key, "format") == 0) {
			format = atoi(val);
		} else if (strcmp(key, "owner_pid") == 0) {
			long v = strtol(val, &end, 10);
			if (*end || v <= 0)
				goto bad;
			r->owner.pid = (pid_t)v;
			have_pid = true;
		} else if (strcmp(key, "owner_start") == 0) {
			r->owner.start = strtoull(val, &end, 10);
			if (*end || !*val)
				goto bad;
			have_start = true;
		} else if (strcmp(key, "owner_comm") == 0) {
			snprintf(r->owner.comm, sizeof r->owner.comm, "%s", val);
		} else if (strcmp(key, "boot_id") == 0) {
			snprintf(r->owner.boot_id, sizeof r->owner.boot_id, "%s", val);
		} else if (strcmp(key, "created") == 0) {
			snprintf(r->owner.created, sizeof r->owner.created, "%s", val);
		} else if (strcmp(key, "ksm_dir") == 0) {
			snprintf(r->ksm_dir, sizeof r->ksm_dir, "%s", val);
		} else if (strncmp(key, "knob.", 5) == 0) {
			if (record_add_knob(r, key + 5, val) < 0)
				goto bad;
		} /* other keys: later additions, ignored */
	}
	fclose(f);
	if (format != 1 || !have_pid || !have_start || !r->ksm_dir[0]) {
		snprintf(err, errlen, "%s: not a complete KSM record (format=1, owner_pid, owner_start and ksm_dir needed)",
			 path);
		ks_knobs_free(&r->knobs);
		return -1;
	}
	return 1;
bad:
	snprintf(err, errlen, "%s:%d: malformed line", path, lineno);
	fclose(f);
	ks_knobs_free(&r->knobs);
	return -1;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Write the record: temporary file, fsync, rename, fsync of the folder. */
static int record_write(const struct ks_state *st, const struct ks_owner *o, const struct ks_knobs *kn,
			char *err, size_t errlen)
{
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", st->path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write state file %s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "# samepage: KSM settings to put back if the owner dies (see ksm-sample(1))\n");
	fprintf(f, "format=1\nowner_pid=%d\nowner_start=%llu\nowner_comm=%s\nboot_id=%s\ncreated=%s\nksm_dir=%s\n",
		(int)o->pid, o->start, o->comm, o->boot_id, o->created, st->ksm_dir);
	for (size_t i = 0; i < kn->n; i++)
		fprintf(f, "knob.%s=%s\n", kn->k[i].name, kn->k[i].saved);
	int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	int e = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad && rename(tmp, st->path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write state file %s: %s", st->path, strerror(e));
		return -1;
	}
	fsync_dir(st->dir);
	return 0;
}

/* ---- owners ---- */

static int owner_of(pid_t pid, struct ks_owner *o)
{
	memset(o, 0, sizeof *o);
	o->pid = pid;
	if (!ks_pid_info(pid, &o->start, NULL, o->comm, sizeof o->comm))
		return -1;
	read_boot_id(o->boot_id, sizeof o->boot_id);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ks_iso8601(o->created, sizeof o->created, (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}

enum owner_state { OWNER_ALIVE, OWNER_GONE, OWNER_OLD_BOOT };

static enum owner_state owner_check(const struct ks_owner *o)
{
	char boot[40];
	read_boot_id(boot, sizeof boot);
	if (o->boot_id[0] && boot[0] && strcmp(boot, o->boot_id) != 0)
		return OWNER_OLD_BOOT;
	unsigned long long start;
	if (ks_pid_info(o->pid, &start, NULL, NULL, 0) && start == o->start)
		return OWNER_ALIVE;
	return OWNER_GONE; /* no such process, a zombie, or the PID was reused */
}

/* PID is this process or one of its ancestors */
static bool is_self_or_ancestor(pid_t pid)
{
	pid_t p = getpid();
	for (int depth = 0; p > 1 && depth < 256; depth++) {
		if (p == pid)
			return true;
		pid_t pp = 0;
		if (!ks_pid_info(p, NULL, &pp, NULL, 0))
			return false;
		p = pp;
	}
	return false;
}

static void describe_owner(const struct record *r, char *out, size_t len)
{
	snprintf(out, len, "PID %d (%s, owner since %s)", (int)r->owner.pid,
		 r->owner.comm[0] ? r->owner.comm : "?", r->owner.created[0] ? r->owner.created : "?");
}

static int knob_now(const char *dir, const char *name, char *out, size_t len)
{
	char path[4096 + KS_NAME_MAX + 2], buf[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return -1;
	struct ks_val v;
	ks_ksm_parse_value(buf, &v);
	snprintf(out, len, "%s", v.s);
	return 0;
}

/* Put back what a record saved, say what was done, remove the record when
 * every knob came back.  Called with the lock held.  0 or -1. */
static int restore_record(struct ks_state *st, struct record *r, const char *why)
{
	char who[200];
	describe_owner(r, who, sizeof who);
	fprintf(stderr, KS_PROG ": %s: KSM owner %s %s %zu saved knobs of %s\n", st->path, who,
		why, r->knobs.n, r->ksm_dir);
	size_t differ = 0;
	for (size_t i = 0; i < r->knobs.n; i++) {
		char now[KS_VALUE_MAX];
		if (knob_now(r->ksm_dir, r->knobs.k[i].name, now, sizeof now) < 0 ||
		    strcmp(now, r->knobs.k[i].saved) != 0)
			differ++;
	}
	snprintf(r->knobs.dir, sizeof r->knobs.dir, "%s", r->ksm_dir);
	r->knobs.saved = true;
	r->knobs.verbose = true; /* every write is told */
	int rc = ks_knobs_restore(&r->knobs);
	if (rc < 0) {
		fprintf(stderr, KS_PROG ": %s: KSM not completely restored; the record is kept (fix the knobs named above, then remove it)\n",
			st->path);
		return -1;
	}
	if (st->hook)
		st->hook("restored");
	if (unlink(st->path) < 0 && errno != ENOENT) {
		fprintf(stderr, KS_PROG ": %s: cannot remove: %s\n", st->path, strerror(errno));
		return -1;
	}
	fsync_dir(st->dir);
	fprintf(stderr, KS_PROG ": KSM restored (%zu of %zu knobs differed and were put back); removed %s\n",
		differ, r->knobs.n, st->path);
	return 0;
}

/* A record of an earlier boot: the reboot reset KSM, the saved values are
 * of no use now.  0, or -1 when it cannot be removed. */
static int remove_old_boot(const struct ks_state *st)
{
	fprintf(stderr, KS_PROG ": %s is from an earlier boot (KSM was reset by the reboot); removed\n",
		st->path);
	if (unlink(st->path) < 0 && errno != ENOENT) {
		fprintf(stderr, KS_PROG ": %s: cannot remove: %s\n", st->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A writer killed between creating and renaming its temporary file leaves
 * RECORD.tmp.PID behind: remove those whose PID is gone. */
static void remove_dead_temps(const struct ks_state *st)
{
	const char *base = strrchr(st->path, '/') + 1;
	size_t blen = strlen(base);
	DIR *d = opendir(st->dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, base, blen) != 0 || strncmp(de->d_name + blen, ".tmp.", 5) != 0)
			continue;
		long pid = strtol(de->d_name + blen + 5, &end, 10);
		if (*end || pid <= 0 || ks_pid_info((pid_t)pid, NULL, NULL, NULL, 0))
			continue;
		char path[4096 + 256 + 2];
		snprintf(path, sizeof path, "%s/%s", st->dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Look at an existing record with the lock held: 0 when none is left (a
 * dead owner's was restored), 1 when a live owner holds it (err names it),
 * 2 when that owner is OWNER itself or an ancestor of this process (when
 * nested_ok), -1 on errors. */
static int clear_stale(struct ks_state *st, pid_t owner, bool nested_ok, char *err, size_t errlen)
{
	remove_dead_temps(st);
	struct record r;
	int got = record_read(st->path, &r, err, errlen);
	if (got <= 0) {
		if (got < 0) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, "; check KSM and remove the record by hand");
		}
		return got;
	}
	int rc = 0;
	char who[200];
	switch (owner_check(&r.owner)) {
	case OWNER_ALIVE:
		describe_owner(&r, who, sizeof who);
		if (nested_ok && is_self_or_ancestor(r.owner.pid)) {
			rc = 2;
		} else if (r.owner.pid == owner) {
			snprintf(err, errlen, "PID %d already owns KSM (%s)", (int)owner, st->path);
			rc = 1;
		} else {
			snprintf(err, errlen, "KSM is in use by %s (record %s); not starting", who, st->path);
			rc = 1;
		}
		break;
	case OWNER_OLD_BOOT:
		if (remove_old_boot(st) < 0) {
			snprintf(err, errlen, "%s: cannot remove", st->path);
			rc = -1;
		}
		break;
	case OWNER_GONE:
		if (restore_record(st, &r, "is gone: restoring KSM before starting;") < 0) {
			snprintf(err, errlen, "could not restore KSM from %s", st->path);
			rc = -1;
		}
		break;
	}
	ks_knobs_free(&r.knobs);
	return rc;
}

int ks_state_take(struct ks_state *st, pid_t owner, struct ks_knobs *kn, char *err, size_t errlen)
{
	struct ks_owner o;
	if (owner_of(owner, &o) < 0) {
		snprintf(err, errlen, "no process %d to own KSM", (int)owner);
		return -1;
	}
	if (state_lock(st, err, errlen) < 0)
		return -1;
	/* a process of our own line owns it (the experiment runner around us):
	 * save and restore as usual, its record stays as it is */
	int rc = clear_stale(st, owner, owner == getpid(), err, errlen);
	if (rc == 2) {
		st->nested = true;
		rc = ks_knobs_save(kn, err, errlen);
	} else if (rc == 0) {
		rc = ks_knobs_save(kn, err, errlen);
		if (rc == 0 && record_write(st, &o, kn, err, errlen) < 0)
			rc = -1;
		if (rc == 0) {
			st->written = true;
			st->owner = o;
		}
	}
	state_unlock(st);
	if (rc == 0 && st->hook)
		st->hook("saved");
	return rc;
}

int ks_state_drop(struct ks_state *st)
{
	if (!st->written)
		return 0;
	char err[512];
	if (state_lock(st, err, sizeof err) < 0) {
		fprintf(stderr, KS_PROG ": %s\n", err);
		return -1;
	}
	/* remove only our own record */
	struct record r;
	int got = record_read(st->path, &r, err, sizeof err);
	int rc = 0;
	if (got > 0 && r.owner.pid == st->owner.pid && r.owner.start == st->owner.start) {
		if (unlink(st->path) < 0) {
			fprintf(stderr, KS_PROG ": %s: cannot remove: %s\n", st->path, strerror(errno));
			rc = -1;
		} else {
			fsync_dir(st->dir);
		}
	}
	if (got > 0)
		ks_knobs_free(&r.knobs);
	state_unlock(st);
	st->written = false;
	return rc;
}

int ks_state_restore(struct ks_state *st, pid_t owner)
{
	char err[1024];
	if (state_lock(st, err, sizeof err) < 0) {
		fprintf(stderr, KS_PROG ": %s\n", err);
		return 1;
	}
	remove_dead_temps(st);
	struct record r;
	int got = record_read(st->path, &r, err, sizeof err);
	int rc = 0;
	char who[200];
	if (got < 0) {
		fprintf(stderr, KS_PROG ": %s; check KSM and remove the record by hand\n", err);
		rc = 1;
	} else if (got == 0) {
		fprintf(stderr, KS_PROG ": no KSM record %s: nothing to %s\n", st->path,
			owner ? "release" : "restore");
	} else {
		describe_owner(&r, who, sizeof who);
		enum owner_state os = owner_check(&r.owner);
		if (owner) {
			/* --release: the owner gives KSM back */
			unsigned long long start;
			if (r.owner.pid != owner || !ks_pid_info(owner, &start, NULL, NULL, 0) ||
			    start != r.owner.start) {
				fprintf(stderr, KS_PROG ": %s belongs to %s, not to PID %d: not released\n",
					st->path, who, (int)owner);
				rc = 1;
			} else if (restore_record(st, &r, "releases it: restoring") < 0) {
				rc = 1;
			}
		} else if (os == OWNER_ALIVE) {
			fprintf(stderr, KS_PROG ": KSM is in use by %s (record %s); not restoring while it runs\n",
				who, st->path);
			rc = 1;
		} else if (os == OWNER_OLD_BOOT) {
			rc = remove_old_boot(st) < 0 ? 1 : 0;
		} else if (restore_record(st, &r, "is gone: restoring") < 0) {
			rc = 1;
		}
		ks_knobs_free(&r.knobs);
	}
	state_unlock(st);
	return rc;
}

int ks_owner_main(const char *state_dir, const char *ksm_dir, pid_t take, pid_t release,
		  struct ks_knobs *kn)
{
	struct ks_state st;
	ks_state_init(&st, state_dir, ksm_dir);
	st.hook = ks_stop_point;
	if (!take)
		return ks_state_restore(&st, release);
	char err[1024];
	snprintf(kn->dir, sizeof kn->dir, "%s", ksm_dir);
	kn->hook = ks_stop_point;
	int r = ks_state_take(&st, take, kn, err, sizeof err);
	if (r == 0 && (r = ks_knobs_set(kn, err, sizeof err)) < 0) {
		/* half applied: put everything back and leave no owner */
		if (ks_knobs_restore(kn) == 0)
			ks_state_drop(&st);
	}
	int status = 0;
	if (r != 0) {
		fprintf(stderr, KS_PROG ": %s%s\n", r == 1 ? "" : "--take: ", err);
		status = r == -2 ? 2 : 1;
	} else if (kn->verbose) {
		fprintf(stderr, KS_PROG ": KSM owned by PID %d; record %s\n", (int)take, st.path);
	}
	ks_knobs_free(kn);
	return status;
}

/*
 * A user-space stand-in for the Linux kernel's "espintcp" upper-layer protocol, for libreswan's pluto in the
 * ikesniff lab (lab/peers.py loads it with LD_PRELOAD into the pluto of a scenario with "espintcp": true).
 *
 * Why: pluto carries IKE over TCP (RFC 8229) on a socket it hands to the kernel with
 * setsockopt(fd, SOL_TCP, TCP_ULP, "espintcp"): from then on the kernel adds the 2-octet length field to
 * every record pluto writes and strips it from every record pluto reads. The lab's kernel has no ESP
 * (CONFIG_INET_ESP unset, hence no espintcp either): the setsockopt fails with ENOENT and pluto closes the
 * stream right after its "IKETCP" prefix. This file does the kernel's framing part and nothing else:
 *
 *   setsockopt(TCP_ULP, "espintcp")  accepted; the socket is marked framed
 *   write() on a framed socket        one record: 2-octet length (of length field + data), then pluto's bytes
 *                                     (the non-ESP marker of 4 zero octets and the IKE message), in one writev
 *   read() on a framed socket         one whole record, its length field removed
 *   close()/socket()/accept*()        forget the mark of that descriptor number
 *
 * Everything else (the TCP connection, the "IKETCP" prefix, which pluto writes and reads itself before the
 * setsockopt, the non-ESP marker, the IKE messages, the addresses and ports) is pluto's own. ESP records
 * (a non-zero marker) would reach pluto instead of the kernel's XFRM; there are none: the kernel cannot
 * install an IPsec SA anyway.
 *
 * Written for the lab from RFC 8229 section 3 and the behaviour of pluto 4.10 (programs/pluto/iface_tcp.c:
 * read() and write() on the socket after the setsockopt); no code of either kernel or libreswan.
 * Build: gcc -shared -fPIC -O2 -o espintcp.so espintcp.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define MAX_FD 65536
#define WAIT_MS 5000 /* how long the rest of a started record may take to arrive or leave */

static volatile unsigned char framed[MAX_FD];

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static int is_framed(int fd)
{
	return fd >= 0 && fd < MAX_FD && framed[fd];
}

static void forget(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		framed[fd] = 0;
}

static int wait_for(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	return poll(&p, 1, WAIT_MS);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (!real)
		real = next("setsockopt");
	if (level == IPPROTO_TCP && name == TCP_ULP && length >= 8 && memcmp(value, "espintcp", 8) == 0
	    && fd >= 0 && fd < MAX_FD) {
		framed[fd] = 1;
		return 0;
	}
	return real(fd, level, name, value, length);
}

/* Exactly `want` bytes into buf: 1 when done, 0 at end of stream before the first byte, -1 on error (errno
 * EAGAIN when nothing had arrived yet and `first` is set, i.e. no record has started). */
static int fill(ssize_t (*real)(int, void *, size_t), int fd, uint8_t *buf, size_t want, int first)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = real(fd, buf + got, want - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (got == 0 && first)
				return 0;
			errno = EPROTO; /* the stream ended inside a record */
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (got == 0 && first)
			return -1;
		if (wait_for(fd, POLLIN) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 1;
}

ssize_t read(int fd, void *buf, size_t count)
{
	static ssize_t (*real)(int, void *, size_t);
	if (!real)
		real = next("read");
	if (!is_framed(fd))
		return real(fd, buf, count);
	uint8_t field[2];
	int done = fill(real, fd, field, sizeof(field), 1);
	if (done <= 0)
		return done;
	size_t length = ((size_t)field[0] << 8) | field[1];
	if (length < sizeof(field)) {
		errno = EPROTO;
		return -1;
	}
	size_t body = length - sizeof(field);
	size_t keep = body < count ? body : count;
	if (fill(real, fd, buf, keep, 0) < 0)
		return -1;
	uint8_t rest[256];
	for (size_t left = body - keep; left > 0;) { /* a record longer than the caller's buffer: the rest goes */
		size_t chunk = left < sizeof(rest) ? left : sizeof(rest);
		if (fill(real, fd, rest, chunk, 0) < 0)
			return -1;
		left -= chunk;
	}
	return (ssize_t)keep;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = next("write");
	if (!is_framed(fd))
		return real(fd, buf, count);
	if (count + 2 > 0xFFFF) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t field[2] = {(uint8_t)((count + 2) >> 8), (uint8_t)(count + 2)};
	struct iovec parts[2] = {{.iov_base = field, .iov_len = 2}, {.iov_base = (void *)buf, .iov_len = count}};
	size_t sent = 0, total = count + 2;
	while (sent < total) {
		struct iovec rest[2];
		int n_rest = 0;
		size_t skip = sent;
		for (int i = 0; i < 2; i++) {
			if (skip >= parts[i].iov_len) {
				skip -= parts[i].iov_len;
				continue;
			}
			rest[n_rest].iov_base = (uint8_t *)parts[i].iov_base + skip;
			rest[n_rest].iov_len = parts[i].iov_len - skip;
			skip = 0;
			n_rest++;
		}
		ssize_t n = writev(fd, rest, n_rest);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd, POLLOUT) > 0)
			continue;
		if (sent == 0)
			return -1;
		errno = EPROTO; /* part of a record left: the stream is broken */
		return -1;
	}
	return (ssize_t)count;
}

int close(int fd)
{
	static int (*real)(int);
	if (!real)
		real = next("close");
	forget(fd);
	return real(fd);
}

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	if (!real)
		real = next("socket");
	int fd = real(domain, type, protocol);
	forget(fd);
	return fd;
}

int accept(int fd, struct sockaddr *address, socklen_t *length)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	if (!real)
		real = next("accept");
	int accepted = real(fd, address, length);
	forget(accepted);
	return accepted;
}

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	if (!real)
		real = next("accept4");
	int accepted = real(fd, address, length, flags);
	forget(accepted);
	return accepted;
}

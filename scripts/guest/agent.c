/*
 * vm-agent: the example guest agent of the vmutils guest kit.
 *
 * A tiny HTTP/1.0-style server meant to run inside a microVM as a systemd
 * service. It answers
 *   GET /health  ->  200 {"status":"ok","session":"set"} (never the value)
 * and 404/405/400 for anything else, closing the connection after each reply.
 *
 * Environment:
 *   SESSION_ID  required; without it the agent prints "SESSION_ID not set" on
 *               stderr and exits 1.
 *   AGENT_PORT  optional TCP port (default 8080).
 *
 * It listens on all addresses (IPv6 dual-stack when available, otherwise IPv4)
 * and serves one connection at a time with short socket timeouts, so a stalled
 * client cannot wedge it for long. Built statically (gcc -static) so that it
 * runs on any x86-64 guest without a libc of the right version.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DEFAULT_PORT 8080
#define MAX_SESSION 256


static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

static void reply(int fd, int code, const char *reason, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     code, reason, strlen(body));
    write_all(fd, head, (size_t)n);
    write_all(fd, body, strlen(body));
}

static void handle(int fd)
{
    char req[4096];
    size_t len = 0;

    /* Read until the end of the request head (or the buffer is full). */
    while (len < sizeof req - 1) {
        ssize_t r = read(fd, req + len, sizeof req - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[len] = '\0';

    char method[16], target[1024];
    if (sscanf(req, "%15s %1023s", method, target) != 2) {
        reply(fd, 400, "Bad Request", "{\"error\":\"bad request\"}\n");
        return;
    }
    /* Ignore a query string: /health?x=y is still /health. */
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';

    if (strcmp(target, "/health") != 0) {
        reply(fd, 404, "Not Found", "{\"error\":\"not found\"}\n");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        reply(fd, 405, "Method Not Allowed", "{\"error\":\"method not allowed\"}\n");
        return;
    }
    /* The session's value is a secret: say only that the agent has one. */
    const char *body = "{\"status\":\"ok\",\"session\":\"set\"}\n";
    if (strcmp(method, "HEAD") == 0) {
        /* Same head, no body. */
        char head[256];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         strlen(body));
        write_all(fd, head, (size_t)n);
        return;
    }
    reply(fd, 200, "OK", body);
}

static int listen_on(int port)
{
    int one = 1, zero = 0;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((unsigned short)port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0 && listen(fd, 64) == 0)
            return fd;
        close(fd);
    }
    /* No IPv6 in this kernel (or disabled): plain IPv4. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("vm-agent: socket");
        return -1;
    }
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    a4.sin_port = htons((unsigned short)port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) {
        fprintf(stderr, "vm-agent: bind port %d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 64) != 0) {
        perror("vm-agent: listen");
        close(fd);
        return -1;
    }
    return fd;
}

int main(void)
{
    const char *session = getenv("SESSION_ID");
    if (session == NULL || *session == '\0') {
        fputs("SESSION_ID not set\n", stderr);
        return 1;
    }

    int port = DEFAULT_PORT;
    const char *p = getenv("AGENT_PORT");
    if (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (*end != '\0' || v < 1 || v > 65535) {
            fprintf(stderr, "vm-agent: invalid AGENT_PORT '%s'\n", p);
            return 1;
        }
        port = (int)v;
    }

    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port);
    if (lfd < 0)
        return 1;
    fprintf(stderr, "vm-agent: listening on port %d\n", port);

    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
                errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (errno != EINTR && errno != ECONNABORTED)
                    usleep(100000);
                continue;
            }
            perror("vm-agent: accept");
            return 1;
        }
        struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        handle(c);
        shutdown(c, SHUT_WR);
        close(c);
    }
}

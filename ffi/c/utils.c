/* The C parts of the plug-in utilities (sasl_utils_t) that stable Rust cannot write:
 *  - the data object sasl_global_utils, defined here so that an executable's copy relocation
 *    (Cyrus's sasldblistusers2 has one) is what the library writes through the GOT;
 *  - utils->log, which is variadic: it formats the message and hands the text to Rust.
 * Formats are printf's, plus Cyrus's two: %m is strerror(errno) and %z the text of a SASL
 * result code (the next int argument). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct sasl_conn;
const void *sasl_global_utils = NULL;

void puresasl_set_global_utils(const void *utils);
void puresasl_utils_log_text(struct sasl_conn *conn, int level, const char *message);
const char *sasl_errstring(int saslerr, const char *langlist, const char **outlang);
void puresasl_utils_log(struct sasl_conn *conn, int level, const char *fmt, ...);

void puresasl_set_global_utils(const void *utils)
{
    sasl_global_utils = utils;
}

/* Appends to out (size outmax, used *used) at most what fits; always NUL-terminated. */
static void append(char *out, size_t outmax, size_t *used, const char *text)
{
    size_t len = strlen(text);
    if (*used + 1 >= outmax)
        return;
    if (len > outmax - 1 - *used)
        len = outmax - 1 - *used;
    memcpy(out + *used, text, len);
    *used += len;
    out[*used] = '\0';
}

void puresasl_utils_log(struct sasl_conn *conn, int level, const char *fmt, ...)
{
    char message[2048];
    size_t used = 0;
    int saved_errno = errno;
    va_list ap;

    if (fmt == NULL)
        return;
    message[0] = '\0';
    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0';) {
        char spec[32], piece[1024];
        size_t n = 0;
        const char *start = p;
        if (*p != '%') {
            const char *next = strchr(p, '%');
            size_t len = next ? (size_t)(next - p) : strlen(p);
            if (len >= sizeof piece)
                len = sizeof piece - 1;
            memcpy(piece, p, len);
            piece[len] = '\0';
            append(message, sizeof message, &used, piece);
            p += next ? (size_t)(next - p) : strlen(p);
            continue;
        }
        p++;
        if (*p == '%') {
            append(message, sizeof message, &used, "%");
            p++;
            continue;
        }
        if (*p == 'm') {
            append(message, sizeof message, &used, strerror(saved_errno));
            p++;
            continue;
        }
        if (*p == 'z' && (p[1] == '\0' || strchr("diouxX", p[1]) == NULL)) {
            append(message, sizeof message, &used, sasl_errstring(va_arg(ap, int), NULL, NULL));
            p++;
            continue;
        }
        /* One conversion: flags, width, precision, length, conversion character. */
        while (*p != '\0' && strchr("-+ #0123456789.", *p) != NULL)
            p++;
        int longs = 0, size = 0, half = 0;
        for (; *p != '\0' && strchr("hlzjtL", *p) != NULL; p++) {
            if (*p == 'l')
                longs++;
            else if (*p == 'z' || *p == 'j' || *p == 't')
                size = 1;
            else if (*p == 'h')
                half = 1;
        }
        if (*p == '\0' || (size_t)(p - start) + 2 > sizeof spec)
            break;
        n = (size_t)(p - start) + 1;
        memcpy(spec, start, n);
        spec[n] = '\0';
        piece[0] = '\0';
        switch (*p) {
        case 'd': case 'i':
            if (longs >= 2) snprintf(piece, sizeof piece, spec, va_arg(ap, long long));
            else if (longs || size) snprintf(piece, sizeof piece, spec, va_arg(ap, long));
            else snprintf(piece, sizeof piece, spec, va_arg(ap, int));
            break;
        case 'u': case 'o': case 'x': case 'X':
            if (longs >= 2) snprintf(piece, sizeof piece, spec, va_arg(ap, unsigned long long));
            else if (longs || size) snprintf(piece, sizeof piece, spec, va_arg(ap, unsigned long));
            else snprintf(piece, sizeof piece, spec, va_arg(ap, unsigned));
            break;
        case 'c':
            snprintf(piece, sizeof piece, spec, va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            snprintf(piece, sizeof piece, spec, s ? s : "(null)");
            break;
        }
        case 'p':
            snprintf(piece, sizeof piece, spec, va_arg(ap, void *));
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
            snprintf(piece, sizeof piece, spec, va_arg(ap, double));
            break;
        default:
            /* %n and unknown conversions are copied, not interpreted. */
            snprintf(piece, sizeof piece, "%s", spec);
            break;
        }
        (void)half;
        append(message, sizeof message, &used, piece);
        p++;
    }
    va_end(ap);
    puresasl_utils_log_text(conn, level, message);
}

/* sasl_global_utils is valid from load time on (Cyrus sets it in sasl_*_init; earlier is
 * harmless, and an executable's copy relocation is in place before constructors run). */
void puresasl_init_global_utils(void);
__attribute__((constructor)) static void puresasl_utils_constructor(void)
{
    puresasl_init_global_utils();
}

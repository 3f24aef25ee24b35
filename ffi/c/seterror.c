/* sasl_seterror is variadic, which stable Rust cannot define: this shim formats the message
 * (printf syntax; glibc also expands %m) and hands the text to the Rust library. */
#include <stdarg.h>
#include <stdio.h>

struct sasl_conn;
void puresasl_seterror_text(struct sasl_conn *conn, unsigned flags, const char *message);

void sasl_seterror(struct sasl_conn *conn, unsigned flags, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    if (conn == NULL || fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    puresasl_seterror_text(conn, flags, message);
}

/* One side of a SASL exchange run by Cyrus SASL's libsasl2, speaking one base64 line per
 * SASL message on stdin/stdout (an empty line is an empty message).
 *
 *   cyrus_scram client MECHANISM USER PASSWORD [CB-NAME CB-DATA-BASE64]
 *   cyrus_scram server MECHANISM USER REALM SASLDB [CB-NAME CB-DATA-BASE64]
 *
 * With CB-NAME and CB-DATA the connection gets that channel binding (SASL_CHANNEL_BINDING,
 * critical), as an application under TLS would set it, for the -PLUS mechanisms.
 *
 * The client prints its initial response, then answers each challenge line; once libsasl2
 * reports success (after checking the server's v=) it prints "OK". The server reads the
 * client's first message, prints each challenge (the server-final v=... included, as
 * libsasl2 sends it as a challenge without SASL_SUCCESS_DATA) and on success prints "OK". On failure either side prints "ERROR <text>" and exits 1.
 *
 * Compiled by tests/scram_interop.rs with `cc cyrus_scram.c -lsasl2`.
 */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *user;
static const char *password;
static const char *sasldb;
static sasl_channel_binding_t binding;
static char binding_data[1024];

static void set_binding(sasl_conn_t *conn, char **argv, int argc, int first)
{
    unsigned len = 0;
    int result;
    if (argc < first + 2)
        return;
    if (sasl_decode64(argv[first + 1], (unsigned)strlen(argv[first + 1]), binding_data,
                      sizeof binding_data, &len) != SASL_OK) {
        printf("ERROR bad channel binding data\n");
        exit(1);
    }
    binding.name = argv[first];
    binding.critical = 1;
    binding.len = len;
    binding.data = (const unsigned char *)binding_data;
    result = sasl_setprop(conn, SASL_CHANNEL_BINDING, &binding);
    if (result != SASL_OK) {
        printf("ERROR sasl_setprop(SASL_CHANNEL_BINDING): %d\n", result);
        exit(1);
    }
}

static int fail(const char *what, int result, sasl_conn_t *conn)
{
    printf("ERROR %s: %s\n", what,
           conn ? sasl_errdetail(conn) : sasl_errstring(result, NULL, NULL));
    fflush(stdout);
    exit(1);
}

static void send_message(const char *data, unsigned len)
{
    char buf[8192];
    unsigned out = 0;
    if (len > 0 && sasl_encode64(data, len, buf, sizeof buf, &out) != SASL_OK)
        fail("encode64", SASL_FAIL, NULL);
    buf[out] = '\0';
    printf("%s\n", buf);
    fflush(stdout);
}

/* Reads one line; returns its decoded length in *len. Exits on end of input. */
static char *receive_message(unsigned *len)
{
    static char line[8192];
    static char decoded[8192];
    if (!fgets(line, sizeof line, stdin)) {
        printf("ERROR peer closed\n");
        exit(1);
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (sasl_decode64(line, (unsigned)strlen(line), decoded, sizeof decoded, len) != SASL_OK)
        fail("decode64", SASL_FAIL, NULL);
    return decoded;
}

static int get_simple(void *context, int id, const char **result, unsigned *len)
{
    (void)context;
    if (id == SASL_CB_AUTHNAME) {
        *result = user;
    } else if (id == SASL_CB_USER) {
        *result = "";
    } else {
        return SASL_BADPARAM;
    }
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int get_password(sasl_conn_t *conn, void *context, int id, sasl_secret_t **secret)
{
    static sasl_secret_t *stored;
    size_t n = strlen(password);
    (void)conn;
    (void)context;
    (void)id;
    stored = malloc(sizeof(sasl_secret_t) + n);
    if (!stored)
        return SASL_NOMEM;
    stored->len = n;
    memcpy(stored->data, password, n + 1);
    *secret = stored;
    return SASL_OK;
}

static int get_option(void *context, const char *plugin, const char *option,
                      const char **result, unsigned *len)
{
    (void)context;
    (void)plugin;
    if (strcmp(option, "sasldb_path") == 0 && sasldb)
        *result = sasldb;
    else if (strcmp(option, "auxprop_plugin") == 0)
        *result = "sasldb";
    else if (strcmp(option, "log_level") == 0)
        *result = "0";
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int run_client(const char *mechanism, char **argv, int argc)
{
    static sasl_callback_t callbacks[] = {
        {SASL_CB_AUTHNAME, (int (*)(void))get_simple, NULL},
        {SASL_CB_USER, (int (*)(void))get_simple, NULL},
        {SASL_CB_PASS, (int (*)(void))get_password, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn;
    const char *out = NULL, *chosen = NULL;
    unsigned outlen = 0;
    int result = sasl_client_init(callbacks);
    if (result != SASL_OK)
        fail("sasl_client_init", result, NULL);
    result = sasl_client_new("imap", "mail.example.org", NULL, NULL, NULL, 0, &conn);
    if (result != SASL_OK)
        fail("sasl_client_new", result, NULL);
    set_binding(conn, argv, argc, 5);
    result = sasl_client_start(conn, mechanism, NULL, &out, &outlen, &chosen);
    if (result != SASL_CONTINUE && result != SASL_OK)
        fail("sasl_client_start", result, conn);
    send_message(out, outlen);
    for (;;) {
        unsigned inlen;
        const char *in = receive_message(&inlen);
        result = sasl_client_step(conn, in, inlen, NULL, &out, &outlen);
        if (result == SASL_OK) {
            printf("OK\n");
            fflush(stdout);
            return 0;
        }
        if (result != SASL_CONTINUE)
            fail("sasl_client_step", result, conn);
        send_message(out, outlen);
    }
}

static int run_server(const char *mechanism, const char *realm, char **argv, int argc)
{
    static sasl_callback_t callbacks[] = {
        {SASL_CB_GETOPT, (int (*)(void))get_option, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0, inlen;
    const char *in;
    int result = sasl_server_init(callbacks, "puresasl-interop");
    if (result != SASL_OK)
        fail("sasl_server_init", result, NULL);
    result = sasl_server_new("imap", "mail.example.org", realm, NULL, NULL, NULL, 0, &conn);
    if (result != SASL_OK)
        fail("sasl_server_new", result, NULL);
    set_binding(conn, argv, argc, 6);
    in = receive_message(&inlen);
    result = sasl_server_start(conn, mechanism, in, inlen, &out, &outlen);
    while (result == SASL_CONTINUE) {
        send_message(out, outlen);
        in = receive_message(&inlen);
        result = sasl_server_step(conn, in, inlen, &out, &outlen);
    }
    if (result != SASL_OK)
        fail("sasl_server_step", result, conn);
    /* No SASL_SUCCESS_DATA: libsasl2 already sent v= as a challenge. */
    printf("OK\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 7) && strcmp(argv[1], "client") == 0) {
        user = argv[3];
        password = argv[4];
        return run_client(argv[2], argv, argc);
    }
    if ((argc == 6 || argc == 8) && strcmp(argv[1], "server") == 0) {
        user = argv[3];
        sasldb = argv[5];
        return run_server(argv[2], argv[4], argv, argc);
    }
    fprintf(stderr,
            "usage: %s client MECH USER PASSWORD [CB-NAME CB-DATA] |"
            " server MECH USER REALM SASLDB [CB-NAME CB-DATA]\n",
            argv[0]);
    return 2;
}

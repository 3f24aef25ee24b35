/* Where the <appname>.conf file is found and how options combine, printed for comparison
 * with Cyrus (ffi/tests/c_programs.rs runs it on both libraries).
 *
 *   config APPNAME [--set-path DIR] [--confpath-callback DIR] [--getopt KEY=VALUE]
 *
 * Prints "init <code>" and then "mechs <list>" (the server's mechanism list). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

static char *confpath;
static const char *opt_key, *opt_value;

static int getconfpath_cb(void *ctx, char **path)
{
    (void)ctx;
    *path = confpath; /* application memory: the library must not free it */
    return SASL_OK;
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (opt_key && strcmp(option, opt_key) == 0) {
        *result = opt_value;
        if (len) *len = (unsigned)strlen(opt_value);
        return SASL_OK;
    }
    return SASL_FAIL;
}

int main(int argc, char **argv)
{
    sasl_callback_t callbacks[3];
    int n = 0, i, r;
    sasl_conn_t *conn = NULL;
    const char *list = NULL;
    int count = 0;

    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--set-path") == 0) {
            r = sasl_set_path(SASL_PATH_TYPE_CONFIG, argv[i + 1]);
            if (r != SASL_OK) printf("set_path %d\n", r);
        } else if (strcmp(argv[i], "--confpath-callback") == 0) {
            confpath = argv[i + 1];
            callbacks[n].id = SASL_CB_GETCONFPATH;
            callbacks[n].proc = (int (*)(void))getconfpath_cb;
            callbacks[n++].context = NULL;
        } else if (strcmp(argv[i], "--getopt") == 0) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq) return 2;
            *eq = 0;
            opt_key = argv[i + 1];
            opt_value = eq + 1;
            callbacks[n].id = SASL_CB_GETOPT;
            callbacks[n].proc = (int (*)(void))getopt_cb;
            callbacks[n++].context = NULL;
        }
    }
    callbacks[n].id = SASL_CB_LIST_END;
    callbacks[n].proc = NULL;
    callbacks[n].context = NULL;

    r = sasl_server_init(callbacks, argv[1]);
    printf("init %d\n", r);
    if (r != SASL_OK) return 0;
    r = sasl_server_new("smtp", "host.example.org", NULL, NULL, NULL, NULL, 0, &conn);
    if (r != SASL_OK) { printf("server_new %d\n", r); return 0; }
    r = sasl_listmech(conn, NULL, "", " ", "", &list, NULL, &count);
    printf("mechs %s\n", r == SASL_OK ? list : "(none)");
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}

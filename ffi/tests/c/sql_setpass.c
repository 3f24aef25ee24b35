/* sasl_setpass into the SQL store (auxprop_plugin: sql), then sasl_checkpass against it.
 *
 *   sql_setpass OPTIONS USER set PASSWORD NEWPASSWORD
 *       creates USER with PASSWORD (sql_insert), checks it, changes it to NEWPASSWORD
 *       (sql_update), checks the new one and that the old one no longer works;
 *   sql_setpass OPTIONS USER disable
 *       SASL_SET_DISABLE: the user's password is removed (SQL NULL); checkpass then fails.
 *
 * OPTIONS is a file of "option: value" lines answered through SASL_CB_GETOPT (the sql_*
 * options). Prints one "ok ..." line per check and exits 0 only if all passed.
 *
 * Built against both libraries, as every C test. Cyrus's side needs its sql plugin
 * (libsasl2-modules-sql), which is not installed in CI because its presence changes Cyrus's
 * behaviour in the other tests (every installed auxprop plugin is asked); the driver runs
 * Cyrus's build only where the plugin is installed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

#define MAX_OPTIONS 32
static char *names[MAX_OPTIONS], *values[MAX_OPTIONS];
static int count;

static void read_options(const char *path)
{
    char line[2048];
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    while (count < MAX_OPTIONS && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':'), *value, *end;
        if (!colon || line[0] == '#') continue;
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ') value++;
        end = value + strlen(value);
        while (end > value && (end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
        names[count] = strdup(line);
        values[count] = strdup(value);
        count++;
    }
    fclose(f);
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    int i;
    (void)ctx;
    (void)plugin;
    for (i = 0; i < count; i++) {
        if (strcmp(option, names[i]) == 0) {
            *result = values[i];
            if (len) *len = (unsigned)strlen(*result);
            return SASL_OK;
        }
    }
    return SASL_FAIL;
}

static sasl_callback_t callbacks[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int failures;

static void expect(const char *what, int got, int want)
{
    if (got == want) {
        printf("ok %s\n", what);
    } else {
        printf("FAIL %s: %s, expected %s\n", what, sasl_errstring(got, NULL, NULL),
               sasl_errstring(want, NULL, NULL));
        failures++;
    }
}

static int checkpass(sasl_conn_t *conn, const char *user, const char *password)
{
    return sasl_checkpass(conn, user, (unsigned)strlen(user), password, (unsigned)strlen(password));
}

int main(int argc, char **argv)
{
    sasl_conn_t *conn = NULL;
    const char *user;
    int r;

    if (argc < 4) {
        fprintf(stderr, "usage: %s OPTIONS USER set PASSWORD NEWPASSWORD | disable\n", argv[0]);
        return 2;
    }
    read_options(argv[1]);
    user = argv[2];
    if (sasl_server_init(callbacks, "sql_setpass") != SASL_OK) {
        fprintf(stderr, "sasl_server_init failed\n");
        return 1;
    }
    r = sasl_server_new("smtp", "mx.example.org", "example.org", NULL, NULL, NULL, 0, &conn);
    if (r != SASL_OK) {
        fprintf(stderr, "sasl_server_new: %s\n", sasl_errstring(r, NULL, NULL));
        return 1;
    }
    if (strcmp(argv[3], "set") == 0 && argc == 6) {
        const char *password = argv[4], *changed = argv[5];
        r = sasl_setpass(conn, user, password, (unsigned)strlen(password), NULL, 0, SASL_SET_CREATE);
        if (r != SASL_OK) fprintf(stderr, "setpass: %s\n", sasl_errdetail(conn));
        expect("setpass creates the user", r, SASL_OK);
        expect("checkpass with the password", checkpass(conn, user, password), SASL_OK);
        expect("checkpass with a wrong password", checkpass(conn, user, "wrong"), SASL_BADAUTH);
        r = sasl_setpass(conn, user, changed, (unsigned)strlen(changed), NULL, 0, 0);
        if (r != SASL_OK) fprintf(stderr, "setpass: %s\n", sasl_errdetail(conn));
        expect("setpass changes the password", r, SASL_OK);
        expect("checkpass with the new password", checkpass(conn, user, changed), SASL_OK);
        expect("checkpass with the old password", checkpass(conn, user, password), SASL_BADAUTH);
    } else if (strcmp(argv[3], "disable") == 0) {
        r = sasl_setpass(conn, user, NULL, 0, NULL, 0, SASL_SET_DISABLE);
        if (r != SASL_OK) fprintf(stderr, "setpass: %s\n", sasl_errdetail(conn));
        expect("setpass disables the user", r, SASL_OK);
        expect("checkpass after disable", checkpass(conn, user, "anything"), SASL_NOUSER);
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[3]);
        return 2;
    }
    sasl_dispose(&conn);
    sasl_done();
    return failures ? 1 : 0;
}

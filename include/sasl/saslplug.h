/* puresasl's <sasl/saslplug.h>: Cyrus SASL's plug-in interface, source-compatible with
 * Cyrus's header (same type, field and macro names, same layouts: the test
 * `header_constants_and_layouts_match_cyrus` compares them field by field with Cyrus's).
 * Hand-maintained (the Rust mirror of these structs is ffi/src/plugin_abi.rs). The library
 * registers application plug-ins (sasl_*_add_plugin) and loads Cyrus's plug-in modules; each
 * plug-in gets a sasl_utils_t whose function pointers all work. */
#ifndef SASLPLUG_H
#define SASLPLUG_H 1

#include <stddef.h>
#include <sasl/sasl.h>
#include <sasl/prop.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The MD5 and HMAC-MD5 contexts the utils functions work on (Cyrus's md5.h and hmac-md5.h,
 * which its saslplug.h includes; plug-ins allocate these themselves). */
#ifndef MD5GLOBAL_H
#define MD5GLOBAL_H
typedef unsigned char *POINTER;
typedef signed char INT1;
typedef short INT2;
typedef int INT4;
typedef long INT8;
typedef unsigned char UINT1;
typedef unsigned short UINT2;
typedef unsigned int UINT4;
typedef unsigned long UINT8;
#endif
#ifndef MD5_H
#define MD5_H 1
typedef struct {
    UINT4 state[4];           /* A, B, C, D */
    UINT4 count[2];           /* message length in bits, low word first */
    unsigned char buffer[64]; /* the partial block */
} MD5_CTX;
#endif
#ifndef HMAC_MD5_H
#define HMAC_MD5_H 1
#define HMAC_MD5_SIZE 16
typedef struct HMAC_MD5_CTX_s {
    MD5_CTX ictx, octx;       /* inner and outer hash */
} HMAC_MD5_CTX;
typedef struct HMAC_MD5_STATE_s {
    UINT4 istate[4];          /* the inner and outer states after the padded key */
    UINT4 ostate[4];
} HMAC_MD5_STATE;
#endif

/* Cyrus declares this in sasl.h (HTTP Digest); plug-ins only pass it through. */
#ifndef PURESASL_SASL_HTTP_REQUEST
#define PURESASL_SASL_HTTP_REQUEST 1
typedef struct sasl_http_request {
    const char *method;
    const char *uri;
    const unsigned char *entity;
    unsigned long elen;
    unsigned non_persist;
} sasl_http_request_t;
#endif

/* Finds the callback `callbackid` of a connection (its own list, then the global one, then
 * the library's defaults for GETOPT, LOG, GETPATH, VERIFYFILE). */
typedef int sasl_getcallback_t(sasl_conn_t *conn, unsigned long callbackid,
                               sasl_callback_ft *pproc, void **pcontext);

/* ---- The utilities every plug-in gets ---- */

#define SASL_UTILS_VERSION 4

typedef struct sasl_utils {
    int version;

    sasl_conn_t *conn;          /* NULL in the global utils */
    sasl_rand_t *rpool;
    void *getopt_context;

    sasl_getopt_t *getopt;      /* options: the application's GETOPT, then <app>.conf */

    sasl_malloc_t *malloc;
    sasl_calloc_t *calloc;
    sasl_realloc_t *realloc;
    sasl_free_t *free;

    sasl_mutex_alloc_t *mutex_alloc;
    sasl_mutex_lock_t *mutex_lock;
    sasl_mutex_unlock_t *mutex_unlock;
    sasl_mutex_free_t *mutex_free;

    void (*MD5Init)(MD5_CTX *);
    void (*MD5Update)(MD5_CTX *, const unsigned char *text, unsigned int len);
    void (*MD5Final)(unsigned char[16], MD5_CTX *);
    void (*hmac_md5)(const unsigned char *text, int text_len, const unsigned char *key,
                     int key_len, unsigned char[16]);
    void (*hmac_md5_init)(HMAC_MD5_CTX *, const unsigned char *key, int len);
    void (*hmac_md5_final)(unsigned char[16], HMAC_MD5_CTX *);
    void (*hmac_md5_precalc)(HMAC_MD5_STATE *, const unsigned char *key, int len);
    void (*hmac_md5_import)(HMAC_MD5_CTX *, HMAC_MD5_STATE *);

    int (*mkchal)(sasl_conn_t *conn, char *buf, unsigned maxlen, unsigned hostflag);
    int (*utf8verify)(const char *str, unsigned len);
    void (*rand)(sasl_rand_t *rpool, char *buf, unsigned len);
    void (*churn)(sasl_rand_t *rpool, const char *data, unsigned len);

    int (*checkpass)(sasl_conn_t *conn, const char *user, unsigned userlen, const char *pass,
                     unsigned passlen);

    int (*decode64)(const char *in, unsigned inlen, char *out, unsigned outmax,
                    unsigned *outlen);
    int (*encode64)(const char *in, unsigned inlen, char *out, unsigned outmax,
                    unsigned *outlen);

    void (*erasebuffer)(char *buf, unsigned len);

    int (*getprop)(sasl_conn_t *conn, int propnum, const void **pvalue);
    int (*setprop)(sasl_conn_t *conn, int propnum, const void *value);

    sasl_getcallback_t *getcallback;

    /* printf-style; %m is the text of a SASL result code given as the next int argument
     * (%z: of errno), as Cyrus's. */
    void (*log)(sasl_conn_t *conn, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    void (*seterror)(sasl_conn_t *conn, unsigned flags, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    int *(*spare_fptr)(void);

    struct propctx *(*prop_new)(unsigned estimate);
    int (*prop_dup)(struct propctx *src_ctx, struct propctx **dst_ctx);
    int (*prop_request)(struct propctx *ctx, const char **names);
    const struct propval *(*prop_get)(struct propctx *ctx);
    int (*prop_getnames)(struct propctx *ctx, const char **names, struct propval *vals);
    void (*prop_clear)(struct propctx *ctx, int requests);
    void (*prop_dispose)(struct propctx **ctx);
    int (*prop_format)(struct propctx *ctx, const char *sep, int seplen, char *outbuf,
                       unsigned outmax, unsigned *outlen);
    int (*prop_set)(struct propctx *ctx, const char *name, const char *value, int vallen);
    int (*prop_setvals)(struct propctx *ctx, const char *name, const char **values);
    void (*prop_erase)(struct propctx *ctx, const char *name);
    int (*auxprop_store)(sasl_conn_t *conn, struct propctx *ctx, const char *user);

    int (*spare_fptr1)(void);
    int (*spare_fptr2)(void);
} sasl_utils_t;

/* What a mechanism reports at the end of an exchange. */
typedef struct sasl_out_params {
    unsigned doneflag;
    const char *user;           /* the authorization id, canonicalised */
    const char *authid;         /* the authentication id, canonicalised */
    unsigned ulen;
    unsigned alen;

    unsigned maxoutbuf;         /* the largest input sasl_encode takes in one packet */
    sasl_ssf_t mech_ssf;        /* the security layer's strength (0: none) */
    void *encode_context;
    int (*encode)(void *context, const struct iovec *invec, unsigned numiov,
                  const char **output, unsigned *outputlen);
    void *decode_context;
    int (*decode)(void *context, const char *input, unsigned inputlen, const char **output,
                  unsigned *outputlen);

    void *client_creds;         /* delegated credentials (GSSAPI) */

    const void *gss_peer_name;
    const void *gss_local_name;
    const char *cbindingname;
    int (*spare_fptr1)(void);
    int (*spare_fptr2)(void);
    unsigned int cbindingdisp;
    int spare_int2;
    int spare_int3;
    int spare_int4;

    int param_version;
} sasl_out_params_t;

typedef enum {
    SASL_INFO_LIST_START = 0,
    SASL_INFO_LIST_MECH,
    SASL_INFO_LIST_END
} sasl_info_callback_stage_t;

typedef enum {
    SASL_CB_DISP_NONE = 0,
    SASL_CB_DISP_WANT,
    SASL_CB_DISP_USED
} sasl_cbinding_disp_t;

#define SASL_CB_PRESENT(params) ((params)->cbinding != NULL)
#define SASL_CB_CRITICAL(params) (SASL_CB_PRESENT(params) && (params)->cbinding->critical)

/* ---- Client mechanisms ---- */

typedef struct sasl_client_params {
    const char *service;
    const char *serverFQDN;
    const char *clientFQDN;
    const sasl_utils_t *utils;
    const sasl_callback_t *prompt_supp;
    const char *iplocalport;
    const char *ipremoteport;
    unsigned servicelen;
    unsigned slen;
    unsigned clen;
    unsigned iploclen;
    unsigned ipremlen;

    sasl_security_properties_t props;
    sasl_ssf_t external_ssf;

    const void *gss_creds;
    const sasl_channel_binding_t *cbinding;
    const sasl_http_request_t *http_request;
    void *spare_ptr4;

    int (*canon_user)(sasl_conn_t *conn, const char *in, unsigned len, unsigned flags,
                      sasl_out_params_t *oparams);

    int (*spare_fptr1)(void);

    unsigned int cbindingdisp;
    int log_level;
    int spare_int3;

    unsigned flags;             /* sasl_client_new's flags */

    int param_version;
} sasl_client_params_t;

/* Mechanism features (sasl_*_plug_t.features). */
#define SASL_FEAT_WANT_CLIENT_FIRST 0x0002
#define SASL_FEAT_SERVER_FIRST 0x0010
#define SASL_FEAT_ALLOWS_PROXY 0x0020
#define SASL_FEAT_DONTUSE_USERPASSWD 0x0080
#define SASL_FEAT_GSS_FRAMING 0x0100
#define SASL_FEAT_CHANNEL_BINDING 0x0800
#define SASL_FEAT_SUPPORTS_HTTP 0x1000
#define SASL_FEAT_NEEDSERVERFQDN 0x0001

typedef struct sasl_client_plug {
    const char *mech_name;
    sasl_ssf_t max_ssf;
    unsigned security_flags;
    unsigned features;
    const unsigned long *required_prompts;
    void *glob_context;
    int (*mech_new)(void *glob_context, sasl_client_params_t *cparams, void **conn_context);
    int (*mech_step)(void *conn_context, sasl_client_params_t *cparams, const char *serverin,
                     unsigned serverinlen, sasl_interact_t **prompt_need,
                     const char **clientout, unsigned *clientoutlen,
                     sasl_out_params_t *oparams);
    void (*mech_dispose)(void *conn_context, const sasl_utils_t *utils);
    void (*mech_free)(void *glob_context, const sasl_utils_t *utils);
    int (*idle)(void *glob_context, void *conn_context, sasl_client_params_t *cparams);
    int (*spare_fptr1)(void);
    int (*spare_fptr2)(void);
} sasl_client_plug_t;

#define SASL_CLIENT_PLUG_VERSION 4

typedef int sasl_client_plug_init_t(const sasl_utils_t *utils, int max_version,
                                    int *out_version, sasl_client_plug_t **pluglist,
                                    int *plugcount);

/* Registers a client mechanism plug-in. */
int sasl_client_add_plugin(const char *plugname, sasl_client_plug_init_t *cplugfunc);

typedef struct client_sasl_mechanism {
    int version;
    char *plugname;
    const sasl_client_plug_t *plug;
} client_sasl_mechanism_t;

typedef void sasl_client_info_callback_t(client_sasl_mechanism_t *m,
                                         sasl_info_callback_stage_t stage, void *rock);

/* Describes the client mechanisms (all of them when mech_list is NULL). */
int sasl_client_plugin_info(const char *mech_list, sasl_client_info_callback_t *info_cb,
                            void *info_cb_rock);

/* ---- Server mechanisms ---- */

typedef void sasl_logmsg_p(sasl_conn_t *conn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

typedef struct sasl_server_params {
    const char *service;
    const char *appname;
    const char *serverFQDN;
    const char *user_realm;
    const char *iplocalport;
    const char *ipremoteport;
    unsigned servicelen;
    unsigned applen;
    unsigned slen;
    unsigned urlen;
    unsigned iploclen;
    unsigned ipremlen;

    int log_level;

    const sasl_utils_t *utils;
    const sasl_callback_t *callbacks;

    sasl_security_properties_t props;
    sasl_ssf_t external_ssf;

    int (*transition)(sasl_conn_t *conn, const char *pass, unsigned passlen);

    int (*canon_user)(sasl_conn_t *conn, const char *user, unsigned ulen, unsigned flags,
                      sasl_out_params_t *oparams);

    struct propctx *propctx;    /* the connection's, shared with sasl_auxprop_getctx */

    const void *gss_creds;
    const sasl_channel_binding_t *cbinding;
    const sasl_http_request_t *http_request;
    void *spare_ptr4;
    int (*spare_fptr1)(void);
    int (*spare_fptr2)(void);
    int spare_int1;
    int spare_int2;
    int spare_int3;

    unsigned flags;             /* sasl_server_new's flags */

    int param_version;
} sasl_server_params_t;

#ifndef SASL_SET_REMOVE
#define SASL_SET_REMOVE SASL_SET_CREATE
#endif
#define SASL_FEAT_SERVICE 0x0200
#define SASL_FEAT_GETSECRET 0x0400

typedef struct sasl_server_plug {
    const char *mech_name;
    sasl_ssf_t max_ssf;
    unsigned security_flags;
    unsigned features;
    void *glob_context;
    int (*mech_new)(void *glob_context, sasl_server_params_t *sparams, const char *challenge,
                    unsigned challen, void **conn_context);
    int (*mech_step)(void *conn_context, sasl_server_params_t *sparams, const char *clientin,
                     unsigned clientinlen, const char **serverout, unsigned *serveroutlen,
                     sasl_out_params_t *oparams);
    void (*mech_dispose)(void *conn_context, const sasl_utils_t *utils);
    void (*mech_free)(void *glob_context, const sasl_utils_t *utils);
    int (*setpass)(void *glob_context, sasl_server_params_t *sparams, const char *user,
                   const char *pass, unsigned passlen, const char *oldpass,
                   unsigned oldpasslen, unsigned flags);
    int (*user_query)(void *glob_context, sasl_server_params_t *sparams, const char *user,
                      int maxmech, const char **mechlist);
    int (*idle)(void *glob_context, void *conn_context, sasl_server_params_t *sparams);
    int (*mech_avail)(void *glob_context, sasl_server_params_t *sparams,
                      void **conn_context);
    int (*spare_fptr2)(void);
} sasl_server_plug_t;

#define SASL_SERVER_PLUG_VERSION 4

typedef int sasl_server_plug_init_t(const sasl_utils_t *utils, int max_version,
                                    int *out_version, sasl_server_plug_t **pluglist,
                                    int *plugcount);

/* Registers a server mechanism plug-in. */
int sasl_server_add_plugin(const char *plugname, sasl_server_plug_init_t *splugfunc);

typedef struct server_sasl_mechanism {
    int version;
    int condition;
    char *plugname;
    const sasl_server_plug_t *plug;
    char *f;
} server_sasl_mechanism_t;

typedef void sasl_server_info_callback_t(server_sasl_mechanism_t *m,
                                         sasl_info_callback_stage_t stage, void *rock);

/* Describes the server mechanisms (all of them when mech_list is NULL). */
int sasl_server_plugin_info(const char *mech_list, sasl_server_info_callback_t *info_cb,
                            void *info_cb_rock);

/* ---- User-name canonicalisation ---- */

typedef struct sasl_canonuser {
    int features;
    int spare_int1;
    void *glob_context;
    char *name;
    void (*canon_user_free)(void *glob_context, const sasl_utils_t *utils);
    int (*canon_user_server)(void *glob_context, sasl_server_params_t *sparams,
                             const char *user, unsigned len, unsigned flags, char *out,
                             unsigned out_umax, unsigned *out_ulen);
    int (*canon_user_client)(void *glob_context, sasl_client_params_t *cparams,
                             const char *user, unsigned len, unsigned flags, char *out,
                             unsigned out_max, unsigned *out_len);
    int (*spare_fptr1)(void);
    int (*spare_fptr2)(void);
    int (*spare_fptr3)(void);
} sasl_canonuser_plug_t;

#define SASL_CANONUSER_PLUG_VERSION 5

typedef int sasl_canonuser_init_t(const sasl_utils_t *utils, int max_version,
                                  int *out_version, sasl_canonuser_plug_t **plug,
                                  const char *plugname);

/* Registers a canonicalisation plug-in. */
int sasl_canonuser_add_plugin(const char *plugname, sasl_canonuser_init_t *canonuserfunc);

/* ---- Auxiliary properties ---- */

typedef struct sasl_auxprop_plug {
    int features;
    int spare_int1;
    void *glob_context;
    void (*auxprop_free)(void *glob_context, const sasl_utils_t *utils);
    int (*auxprop_lookup)(void *glob_context, sasl_server_params_t *sparams, unsigned flags,
                          const char *user, unsigned ulen);
    char *name;
    int (*auxprop_store)(void *glob_context, sasl_server_params_t *sparams,
                         struct propctx *ctx, const char *user, unsigned ulen);
} sasl_auxprop_plug_t;

/* SASL_AUXPROP_OVERRIDE, SASL_AUXPROP_AUTHZID and SASL_AUXPROP_VERIFY_AGAINST_HASH are in
 * sasl.h. */
#define SASL_AUXPROP_PLUG_VERSION 8

typedef int sasl_auxprop_init_t(const sasl_utils_t *utils, int max_version, int *out_version,
                                sasl_auxprop_plug_t **plug, const char *plugname);

/* Registers an auxiliary-property plug-in. */
int sasl_auxprop_add_plugin(const char *plugname, sasl_auxprop_init_t *auxpropfunc);

typedef void auxprop_info_callback_t(sasl_auxprop_plug_t *m, sasl_info_callback_stage_t stage,
                                     void *rock);

/* Describes the auxiliary-property plug-ins (all of them when mech_list is NULL). */
int auxprop_plugin_info(const char *mech_list, auxprop_info_callback_t *info_cb,
                        void *info_cb_rock);

/* The utilities of the library itself (set by sasl_server_init/sasl_client_init). */
extern const sasl_utils_t *sasl_global_utils;

#ifdef __cplusplus
}
#endif

#endif /* SASLPLUG_H */

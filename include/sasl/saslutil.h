/* Cyrus splits its interface over sasl.h, saslutil.h and prop.h; puresasl declares it all in
 * sasl.h. */
#include <sasl/sasl.h>

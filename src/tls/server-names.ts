// The names a local server is reached at: the local CA's server certificate covers exactly these.
export const SERVER_DNS_NAMES = ['localhost'];
export const SERVER_IP_ADDRESSES = ['127.0.0.1', '::1'];

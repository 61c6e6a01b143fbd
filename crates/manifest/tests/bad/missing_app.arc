# no app name
@http
get /

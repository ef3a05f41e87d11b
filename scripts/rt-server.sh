#!/usr/bin/env bash
# Request Tracker 5 on 127.0.0.1 for Ferry's RT connector: install, configure, start, stop.
#
#   scripts/rt-server.sh install   apt-get install RT 5 with SQLite and the standalone server (root)
#   scripts/rt-server.sh start     a fresh SQLite database and rt-server on 127.0.0.1:$FERRY_RT_PORT
#   scripts/rt-server.sh stop      stops the server started by `start` (by its PID file)
#   scripts/rt-server.sh status    says whether it runs, and where
#   scripts/rt-server.sh can-run   exit 0 when RT is installed or installable here, else prints why and exits 1
#
# Environment (all optional):
#   FERRY_RT_PORT   port on 127.0.0.1 (default 18080)
#   FERRY_RT_DIR    state folder: database, PID file, log (default .rt in the current folder)
#
# The server's REST2 API is then at http://127.0.0.1:$FERRY_RT_PORT/REST/2.0 with the
# user root and RT's initial password "password" (a throwaway local test instance).
# `start` always begins with an empty database, so every run migrates into a fresh RT.
set -euo pipefail

PORT="${FERRY_RT_PORT:-18080}"
DIR="${FERRY_RT_DIR:-$PWD/.rt}"
PACKAGES="request-tracker5 rt5-db-sqlite rt5-standalone"
SITE_CONFIG=/etc/request-tracker5/RT_SiteConfig.d/99-ferry.pm
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server

say() { echo "rt-server: $*"; }
die() { echo "rt-server: error: $*" >&2; exit "${2:-1}"; }

installed() { [ -x "$RT_SERVER" ] && dpkg -s request-tracker5 rt5-db-sqlite >/dev/null 2>&1; }

can_run() {
  if installed && { [ "$(id -u)" = 0 ] || [ -f "$SITE_CONFIG" ]; }; then return 0; fi
  if installed; then echo "Request Tracker 5 is installed but not configured for Ferry, which needs root once: sudo $0 install"; return 1; fi
  if [ "$(id -u)" != 0 ]; then echo "Request Tracker 5 is not installed and installing it needs root (sudo $0 install)"; return 1; fi
  command -v apt-get >/dev/null || { echo "no apt-get here: Request Tracker 5 is installed from Debian's packages"; return 1; }
  if ! apt-cache show request-tracker5 >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-cache show request-tracker5 >/dev/null 2>&1 || { echo "the package repository does not offer request-tracker5 (or cannot be reached)"; return 1; }
  fi
  return 0
}

install_rt() {
  if installed; then say "Request Tracker 5 is installed"; else
    [ "$(id -u)" = 0 ] || die "installing Request Tracker 5 needs root: sudo $0 install"
    say "installing $PACKAGES (apt-get, about 30 s)"
    # No database setup by the package: `start` makes its own SQLite file each time.
    debconf-set-selections <<'SEL'
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/rtname string ferry.example
request-tracker5 request-tracker5/organization string ferry.example
request-tracker5 request-tracker5/correspondaddress string rt@ferry.example
request-tracker5 request-tracker5/commentaddress string rt-comment@ferry.example
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /
request-tracker5 request-tracker5/install-cronjobs boolean false
SEL
    apt-cache show request-tracker5 >/dev/null 2>&1 || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null \
      || die "apt-get install $PACKAGES failed" 69
  fi
  # Ferry's settings, read after the package's own: the database file and the port
  # come from the environment of the process (set by `start`), mail goes nowhere, logs
  # go to stderr (the server's log file).
  if [ "$(id -u)" = 0 ] && ! cmp -s - "$SITE_CONFIG" <<'CFG'
# Written by Ferry's scripts/rt-server.sh: a local, throwaway RT for migration tests.
Set($DatabaseType, 'SQLite');
Set($DatabaseName, $ENV{FERRY_RT_DB} || '/var/lib/ferry-rt/rt.sqlite');
Set($WebPath, '');
Set($WebDomain, '127.0.0.1');
Set($WebPort, $ENV{FERRY_RT_PORT} || 18080);
Set($WebBaseURL, 'http://127.0.0.1:' . ($ENV{FERRY_RT_PORT} || 18080));
Set($MailCommand, 'mbox');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'warning');
Set($DevelMode, 0);
Set($RestrictReferrer, 0);
Set($Timezone, 'UTC');
# Every REST2 request checks the password: bcrypt's default cost (12) makes that ~0.3 s.
Set($BcryptCost, 4);
1;
CFG
  then
    cat > "$SITE_CONFIG" <<'CFG'
# Written by Ferry's scripts/rt-server.sh: a local, throwaway RT for migration tests.
Set($DatabaseType, 'SQLite');
Set($DatabaseName, $ENV{FERRY_RT_DB} || '/var/lib/ferry-rt/rt.sqlite');
Set($WebPath, '');
Set($WebDomain, '127.0.0.1');
Set($WebPort, $ENV{FERRY_RT_PORT} || 18080);
Set($WebBaseURL, 'http://127.0.0.1:' . ($ENV{FERRY_RT_PORT} || 18080));
Set($MailCommand, 'mbox');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'warning');
Set($DevelMode, 0);
Set($RestrictReferrer, 0);
Set($Timezone, 'UTC');
# Every REST2 request checks the password: bcrypt's default cost (12) makes that ~0.3 s.
Set($BcryptCost, 4);
1;
CFG
    say "wrote $SITE_CONFIG"
  fi
}

pid_running() { [ -f "$DIR/rt.pid" ] && kill -0 "$(cat "$DIR/rt.pid")" 2>/dev/null; }

start_rt() {
  install_rt
  if pid_running; then die "already running (PID $(cat "$DIR/rt.pid")); $0 stop first"; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then die "port $PORT on 127.0.0.1 is taken; set FERRY_RT_PORT" 75; fi
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  export FERRY_RT_DB="$DIR/rt.sqlite" FERRY_RT_PORT="$PORT"
  rm -f "$FERRY_RT_DB" "$DIR/rt.log"
  say "fresh SQLite database $FERRY_RT_DB"
  /usr/sbin/rt-setup-database-5 --action init --skip-create >"$DIR/setup.log" 2>&1 \
    || { cat "$DIR/setup.log" >&2; die "rt-setup-database --action init failed (log above)"; }
  # Global rights REST2 cannot grant: privileged users (agents) may own and work tickets.
  cat > "$DIR/rights.pl" <<'RIGHTS'
@ACL = map { { GroupDomain => 'SystemInternal', GroupType => 'Privileged', Right => $_ } }
  qw(OwnTicket SeeQueue ShowTicket ShowTicketComments ReplyToTicket CommentOnTicket ModifyTicket
     CreateTicket SeeCustomField ModifyCustomField TakeTicket StealTicket ShowOutgoingEmail);
push @ACL, map { { GroupDomain => 'SystemInternal', GroupType => 'Everyone', Right => $_ } }
  qw(CreateTicket ReplyToTicket SeeQueue SeeCustomField);
1;
RIGHTS
  /usr/sbin/rt-setup-database-5 --action insert --skip-create --datafile "$DIR/rights.pl" >>"$DIR/setup.log" 2>&1 \
    || { cat "$DIR/setup.log" >&2; die "inserting the rights failed (log above)"; }
  # No mail from an import: RT's scrips (notifications, auto-replies) are switched off,
  # as they should be in any RT while a migration loads it.
  perl -MDBI -e 'my $db = DBI->connect("dbi:SQLite:dbname=$ARGV[0]", "", "", { RaiseError => 1 }); $db->do("UPDATE Scrips SET Disabled = 1");' "$FERRY_RT_DB" \
    || die "switching off RT's scrips failed"
  chmod 0666 "$FERRY_RT_DB" 2>/dev/null || true
  # RT's initial root password, for pipeline-rt.yml's credentials_file (never in pipeline.yml itself).
  (umask 077; printf 'user=root\npassword=password\n' > "$DIR/credentials")
  say "starting rt-server on 127.0.0.1:$PORT (log: $DIR/rt.log)"
  setsid "$RT_SERVER" --host 127.0.0.1 --port "$PORT" --max-workers 2 >"$DIR/rt.log" 2>&1 < /dev/null &
  echo $! > "$DIR/rt.pid"
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null -u root:password "http://127.0.0.1:$PORT/REST/2.0/rt" 2>/dev/null; then
      say "ready: http://127.0.0.1:$PORT/REST/2.0 (PID $(cat "$DIR/rt.pid"))"; return 0; fi
    pid_running || { tail -30 "$DIR/rt.log" >&2; die "rt-server exited (log above)"; }
    sleep 0.5
  done
  tail -30 "$DIR/rt.log" >&2; die "rt-server did not answer within 60 s (log above)" 75
}

stop_rt() {
  if ! [ -f "$DIR/rt.pid" ]; then say "not running (no $DIR/rt.pid)"; return 0; fi
  local pid; pid="$(cat "$DIR/rt.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    # rt-server runs in its own session (setsid): its workers are in the process group $pid.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
    say "stopped (PID $pid)"
  else say "not running (PID $pid is gone)"; fi
  rm -f "$DIR/rt.pid"
}

case "${1:-}" in
  install) install_rt ;;
  start) start_rt ;;
  stop) stop_rt ;;
  status) if pid_running; then say "running: http://127.0.0.1:$PORT/REST/2.0 (PID $(cat "$DIR/rt.pid"))"; else say "not running"; exit 3; fi ;;
  can-run) can_run ;;
  *) sed -n '2,16p' "$0"; exit 64 ;;
esac

# DocuCommit's pre-receive hook, the quick one: perl with its core Socket module starts in a few milliseconds
# where node needs 50 or more, and every push waits for this start. It does exactly what pre-receive.mjs does
# (the hook script runs that one where there is no perl); test/git/pre-receive-clients.test.ts runs both.
#
# `git receive-pack` runs it after the pushed objects are stored in quarantine and before any ref moves. It hands
# the ref updates and the quarantine location to the DocuCommit server that started this receive-pack (over a
# Unix socket named after receive-pack's process id, see smart-http.ts `hookSocketPath`), prints the server's
# messages (git shows them as `remote:` lines) and exits with its verdict. When no server answers, the push is
# refused: fail closed.
use strict;
use warnings;
use Socket qw(PF_UNIX SOCK_STREAM pack_sockaddr_un);

my $UNCHECKED = "DocuCommit: this push could not be checked, so it was refused.\n";

sub refuse {
  my ($message) = @_;
  print STDERR ($message // $UNCHECKED);
  exit 1;
}

$SIG{ALRM} = sub { refuse("DocuCommit: checking this push took too long, so it was refused.\n") };
alarm 300;
binmode STDIN;
binmode STDERR;

my $updates = do { local $/; <STDIN> } // '';
# push options (`git push -o change.open`), which receive-pack hands to hooks as GIT_PUSH_OPTION_<n>
my $count = $ENV{GIT_PUSH_OPTION_COUNT} // '';
$count = ($count =~ /\A[0-9]{1,6}\z/) ? $count + 0 : 0;
$count = 20 if $count > 20;
my @options = map { $ENV{"GIT_PUSH_OPTION_$_"} // '' } 0 .. $count - 1;

sub json_string {
  my ($text) = @_;
  $text =~ s/(["\\])/\\$1/g;
  $text =~ s/([\x00-\x1f])/sprintf('\\u%04x', ord($1))/ge;
  return qq("$text");
}

# the server answers this client in lines: "ok" or "refused", then one message per line
my $request = '{"updates":' . json_string($updates)
  . ',"options":[' . join(',', map { json_string($_) } @options) . ']'
  . ',"quarantine":' . json_string($ENV{GIT_QUARANTINE_PATH} // '')
  . ',"objectDirectory":' . json_string($ENV{GIT_OBJECT_DIRECTORY} // '')
  . ',"answer":"lines"}' . "\n";

# keep in step with hookSocketPath() in smart-http.ts and node's os.tmpdir()
my $tmp = $ENV{TMPDIR} || $ENV{TMP} || $ENV{TEMP} || '/tmp';
$tmp =~ s{(?<=.)/\z}{};
my $path = "$tmp/docucommit-hooks-$</" . getppid() . '.sock';

socket(my $socket, PF_UNIX, SOCK_STREAM, 0) or refuse();
connect($socket, pack_sockaddr_un($path)) or refuse();
binmode $socket;
for (my $at = 0; $at < length $request;) {
  my $written = syswrite($socket, $request, length($request) - $at, $at);
  refuse() unless defined $written;
  $at += $written;
}
shutdown($socket, 1);
my $answer = '';
while (1) {
  my $read = sysread($socket, my $chunk, 65536);
  refuse() unless defined $read;
  last if $read == 0;
  $answer .= $chunk;
}
my ($verdict, @lines) = split /\n/, $answer, -1;
pop @lines if @lines && $lines[-1] eq '';
refuse() unless defined $verdict && ($verdict eq 'ok' || $verdict eq 'refused');
print STDERR "$_\n" for @lines;
exit($verdict eq 'ok' ? 0 : 1);

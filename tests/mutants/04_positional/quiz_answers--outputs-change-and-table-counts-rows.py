# loses: test_q1, test_q4
answer_q1 = "d"
answer_q2 = 256
answer_q3 = "b"
answer_q4 = 512
answer_q5 = "b"

# loses: test_q2, test_q6
answer_q1 = "b"
answer_q2 = "d"
answer_q3 = 8
answer_q4 = "b"
answer_q5 = "a"
answer_q6 = "b"
